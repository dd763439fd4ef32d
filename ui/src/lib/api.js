// Thin client of the netrun.ui backend (FastAPI). Every call returns parsed JSON or throws
// an ApiError whose message is the backend's explanation (which names the file, line and fix).

export class ApiError extends Error {
	/** @param {string} message @param {number} status @param {any} detail */
	constructor(message, status, detail) {
		super(message);
		this.status = status;
		this.detail = detail;
	}
}

function describe(detail, fallback) {
	if (!detail) return fallback;
	if (typeof detail === 'string') return detail;
	if (Array.isArray(detail)) return detail.map((d) => d.msg ?? JSON.stringify(d)).join('; ');
	if (detail.message) {
		const where = detail.line ? ` (line ${detail.line}${detail.column ? `, column ${detail.column}` : ''})` : '';
		return detail.message + where;
	}
	return JSON.stringify(detail);
}

/** @param {string} method @param {string} url @param {any} [body] */
async function request(method, url, body) {
	const init = { method, headers: {} };
	if (body !== undefined) {
		init.headers['content-type'] = 'application/json';
		init.body = JSON.stringify(body);
	}
	let response;
	try {
		response = await fetch(url, init);
	} catch (err) {
		throw new ApiError(`the netrun ui backend is not reachable (${err}); is 'netrun ui' still running?`, 0, null);
	}
	const text = await response.text();
	let payload = null;
	try {
		payload = text ? JSON.parse(text) : null;
	} catch {
		payload = text;
	}
	if (!response.ok) {
		const detail = payload && typeof payload === 'object' && 'detail' in payload ? payload.detail : payload;
		throw new ApiError(describe(detail, `${response.status} ${response.statusText}`), response.status, detail);
	}
	return payload;
}

const q = (params) => new URLSearchParams(params).toString();

export const api = {
	info: () => request('GET', '/api/info'),
	listFiles: () => request('GET', '/api/files'),
	openFile: (path) => request('GET', `/api/file?${q({ path })}`),
	newFile: (path) => request('POST', '/api/file/new', { path }),
	saveFile: (path, data, text) => request('POST', '/api/file/save', { path, data, text }),
	analyze: (path, data) => request('POST', '/api/analyze', { path, data }),
	expression: (when, ports, side) => request('POST', '/api/expression', { when, ports, side }),
	factoryInfo: (factory, path) => request('GET', `/api/factory-info?${q({ factory, path: path ?? '' })}`),
	factoryNode: (path, factory, factory_args, name) =>
		request('POST', '/api/factory-node', { path, factory, factory_args, name }),
	actions: (path, data, node) => request('POST', '/api/actions/list', { path, data, node }),
	runAction: (path, data, id, node) => request('POST', '/api/actions/run', { path, data, id, node }),
	recipes: (path, data) => request('POST', '/api/recipes/list', { path, data }),
	recipePrompts: (path, data, name) => request('POST', '/api/recipes/prompts', { path, data, name }),
	runRecipe: (path, data, name, inputs) => request('POST', '/api/recipes/run', { path, data, name, inputs }),
	startRun: (path, data, inject) => request('POST', '/api/run/start', { path, data, inject }),
	stopRun: () => request('POST', '/api/run/stop', {}),
	runStatus: () => request('GET', '/api/run/status'),
	attach: (url) => request('POST', '/api/monitor/attach', { url }),
	detach: () => request('POST', '/api/monitor/detach', {}),
	nodeDetail: (node) => request('GET', `/api/monitor/node?${q({ node })}`),
	deadLetters: () => request('GET', '/api/monitor/dlq'),
	reinject: (epoch_id) => request('POST', '/api/monitor/dlq/reinject', { epoch_id })
};
