// One open net file: its config data (the 0.5.0 JSON layout: graph.nodes / graph.edges,
// pools, output_queues, node_vars, extra), undo/redo history, and the backend's analysis
// (validation problems with their locations, ports of factory nodes, `when` texts).
//
// The data is only ever changed through `change()`, which records the previous state, so
// every edit (drag, connect, form field) can be undone. Typing into one field within a short
// time is merged into one undo step.

import { api } from './api.js';

const HISTORY_LIMIT = 200;
const MERGE_MS = 800;
const ANALYZE_DELAY_MS = 250;

export const clone = (value) => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));

let nextId = 1;

export function emptyNet() {
	return { graph: { nodes: [], edges: [] } };
}

export function edgeId(e) {
	return `${e.source_node}.${e.source_port}->${e.target_node}.${e.target_port}`;
}

export class NetDocument {
	id = nextId++;
	path = $state('');
	format = $state('toml');
	data = $state(emptyNet());
	savedJson = $state('');
	analysis = $state({ problems: [], nodes: {}, ok: true, error: null });
	undoStack = $state.raw([]);
	redoStack = $state.raw([]);
	lastMergeKey = null;
	lastChangeAt = 0;
	analyzeTimer = null;
	analyzeSeq = 0;

	/** @param {{path: string, format: string, data: any, analysis?: any}} opened */
	constructor(opened) {
		this.path = opened.path;
		this.format = opened.format;
		this.data = opened.data;
		this.savedJson = JSON.stringify(opened.data);
		if (opened.analysis) this.analysis = opened.analysis;
		else this.scheduleAnalyze(0);
	}

	get name() {
		return this.path.split('/').pop() || 'untitled';
	}

	get dirty() {
		return JSON.stringify(this.data) !== this.savedJson;
	}

	get nodes() {
		return this.data.graph?.nodes ?? [];
	}

	get edges() {
		return this.data.graph?.edges ?? [];
	}

	/** Apply `mutate(draft)` to a copy of the data and record the old data for undo.
	 * @param {string} label @param {(draft: any) => void} mutate @param {string|null} [mergeKey] */
	change(label, mutate, mergeKey = null) {
		const before = $state.snapshot(this.data);
		const draft = clone(before);
		mutate(draft);
		if (JSON.stringify(draft) === JSON.stringify(before)) return;
		const now = Date.now();
		const merge = mergeKey !== null && mergeKey === this.lastMergeKey && now - this.lastChangeAt < MERGE_MS;
		if (!merge) {
			this.undoStack = [...this.undoStack.slice(-(HISTORY_LIMIT - 1)), { label, data: before }];
		}
		this.redoStack = [];
		this.lastMergeKey = mergeKey;
		this.lastChangeAt = now;
		this.data = draft;
		this.scheduleAnalyze();
	}

	get canUndo() {
		return this.undoStack.length > 0;
	}

	get canRedo() {
		return this.redoStack.length > 0;
	}

	undo() {
		const last = this.undoStack.at(-1);
		if (!last) return;
		this.undoStack = this.undoStack.slice(0, -1);
		this.redoStack = [...this.redoStack, { label: last.label, data: $state.snapshot(this.data) }];
		this.data = last.data;
		this.lastMergeKey = null;
		this.scheduleAnalyze(0);
	}

	redo() {
		const next = this.redoStack.at(-1);
		if (!next) return;
		this.redoStack = this.redoStack.slice(0, -1);
		this.undoStack = [...this.undoStack, { label: next.label, data: $state.snapshot(this.data) }];
		this.data = next.data;
		this.lastMergeKey = null;
		this.scheduleAnalyze(0);
	}

	/** Replace everything (reload from disk, recipe result); undoable. */
	replaceData(label, data) {
		this.change(label, (draft) => {
			for (const key of Object.keys(draft)) delete draft[key];
			Object.assign(draft, clone(data));
		});
	}

	markSaved(savedData) {
		this.savedJson = JSON.stringify(savedData ?? $state.snapshot(this.data));
	}

	scheduleAnalyze(delay = ANALYZE_DELAY_MS) {
		clearTimeout(this.analyzeTimer);
		this.analyzeTimer = setTimeout(() => this.analyze(), delay);
	}

	async analyze() {
		const seq = ++this.analyzeSeq;
		try {
			const result = await api.analyze(this.path, $state.snapshot(this.data));
			if (seq === this.analyzeSeq) this.analysis = { ...result, error: null };
		} catch (err) {
			if (seq === this.analyzeSeq) this.analysis = { problems: [], nodes: {}, ok: false, error: String(err.message ?? err) };
		}
	}

	// -- queries ----------------------------------------------------------------------------

	nodeIndex(name) {
		return this.nodes.findIndex((n) => n.name === name);
	}

	/** Ports of a node as drawn: the file's own plus those a factory gives it. */
	ports(name, side) {
		const node = this.nodes.find((n) => n.name === name);
		const own = Object.keys(node?.[`${side}_ports`] ?? {});
		const resolved = Object.keys(this.analysis.nodes?.[name]?.[`${side}_ports`] ?? {});
		return [...new Set([...own, ...resolved])];
	}

	problemsFor(kind, key) {
		return (this.analysis.problems ?? []).filter((p) => p.target?.kind === kind && p.target?.key === key);
	}

	uniqueNodeName(base) {
		const clean = (base || 'node').replace(/[^A-Za-z0-9_]/g, '_') || 'node';
		const names = new Set(this.nodes.map((n) => n.name));
		if (!names.has(clean)) return clean;
		let i = 2;
		while (names.has(`${clean}_${i}`)) i++;
		return `${clean}_${i}`;
	}

	// -- edits ------------------------------------------------------------------------------

	addNode(node, position) {
		this.change(`add node ${node.name}`, (d) => {
			d.graph ??= { nodes: [], edges: [] };
			d.graph.nodes ??= [];
			const entry = clone(node);
			entry.extra ??= {};
			entry.extra.ui = { ...(entry.extra.ui ?? {}), position: roundPos(position) };
			d.graph.nodes.push(entry);
		});
	}

	removeNodes(names) {
		const gone = new Set(names);
		if (!gone.size) return;
		this.change(`delete ${[...gone].join(', ')}`, (d) => {
			d.graph.nodes = d.graph.nodes.filter((n) => !gone.has(n.name));
			d.graph.edges = (d.graph.edges ?? []).filter((e) => !gone.has(e.source_node) && !gone.has(e.target_node));
			for (const queue of Object.values(d.output_queues ?? {})) {
				if (Array.isArray(queue.ports)) queue.ports = queue.ports.filter((p) => !gone.has(p[0]));
			}
		});
	}

	moveNodes(positions) {
		this.change('move', (d) => {
			for (const node of d.graph.nodes) {
				const pos = positions[node.name];
				if (!pos) continue;
				node.extra ??= {};
				node.extra.ui = { ...(node.extra.ui ?? {}), position: roundPos(pos) };
			}
		});
	}

	addEdge(edge) {
		const id = edgeId(edge);
		if (this.edges.some((e) => edgeId(e) === id)) return false;
		this.change(`connect ${id}`, (d) => {
			d.graph.edges ??= [];
			d.graph.edges.push({ ...edge });
		});
		return true;
	}

	removeEdges(ids) {
		const gone = new Set(ids);
		if (!gone.size) return;
		this.change('delete edges', (d) => {
			d.graph.edges = (d.graph.edges ?? []).filter((e) => !gone.has(edgeId(e)));
		});
	}

	/** Change one node through `mutate(node, data)`; a rename also rewrites edges and queues. */
	updateNode(name, label, mutate, mergeKey = null) {
		this.change(
			label,
			(d) => {
				const node = d.graph.nodes.find((n) => n.name === name);
				if (!node) return;
				mutate(node, d);
				if (node.name !== name) renameReferences(d, name, node.name);
			},
			mergeKey
		);
	}
}

function roundPos(pos) {
	return { x: Math.round(pos?.x ?? 0), y: Math.round(pos?.y ?? 0) };
}

function renameReferences(d, from, to) {
	for (const e of d.graph.edges ?? []) {
		if (e.source_node === from) e.source_node = to;
		if (e.target_node === from) e.target_node = to;
	}
	for (const queue of Object.values(d.output_queues ?? {})) {
		for (const p of queue.ports ?? []) if (p[0] === from) p[0] = to;
	}
}
