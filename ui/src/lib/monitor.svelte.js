// Live state of the running (or attached) net, fed by the backend's /ws/monitor WebSocket.
//
// The backend aggregates the net's events and sends one `batch` message every ~150 ms with
// the complete current picture (counters, per-node state, packets waiting per port and
// edge), so a late or reconnecting browser is immediately up to date and the page never
// has to process one message per packet.

const RECONNECT_MS = 1000;

class Monitor {
	connected = $state(false);
	source = $state({ kind: 'none', label: '' });
	status = $state('idle');
	error = $state(null);
	counters = $state({});
	nodes = $state({});
	ports = $state({});
	edges = $state({});
	events = $state([]);
	batches = $state(0);
	socket = null;
	stopped = false;

	get active() {
		return this.source.kind !== 'none';
	}

	connect() {
		this.stopped = false;
		const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
		const socket = new WebSocket(`${scheme}://${location.host}/ws/monitor`);
		this.socket = socket;
		socket.onopen = () => (this.connected = true);
		socket.onmessage = (event) => this.receive(JSON.parse(event.data));
		socket.onclose = () => {
			this.connected = false;
			if (!this.stopped) setTimeout(() => this.connect(), RECONNECT_MS);
		};
	}

	disconnect() {
		this.stopped = true;
		this.socket?.close();
	}

	receive(message) {
		if (message.type === 'source') {
			this.source = message.source;
			if (message.source.kind === 'none') this.reset();
			return;
		}
		if (message.type !== 'batch') return;
		this.batches += 1;
		this.status = message.status ?? this.status;
		this.error = message.error ?? null;
		this.counters = message.counters ?? {};
		this.nodes = message.nodes ?? {};
		this.ports = message.ports ?? {};
		this.edges = message.edges ?? {};
		if (message.events?.length) this.events = [...message.events.toReversed(), ...this.events].slice(0, 200);
	}

	reset() {
		this.status = 'idle';
		this.error = null;
		this.counters = {};
		this.nodes = {};
		this.ports = {};
		this.edges = {};
		this.events = [];
	}
}

export const monitor = new Monitor();
