// The open files (tabs), which one is active, what is selected, and user-facing messages.

import { api } from './api.js';
import { NetDocument } from './document.svelte.js';

class Workspace {
	docs = $state([]);
	activeId = $state(null);
	selection = $state({ kind: 'net', key: null });
	messages = $state([]);
	info = $state({ root: '', version: '' });

	get active() {
		return this.docs.find((d) => d.id === this.activeId) ?? null;
	}

	notify(text, level = 'info') {
		const message = { id: Math.random(), text, level };
		this.messages = [...this.messages.slice(-4), message];
		if (level !== 'error') setTimeout(() => this.dismiss(message.id), 5000);
	}

	dismiss(id) {
		this.messages = this.messages.filter((m) => m.id !== id);
	}

	async open(path) {
		const existing = this.docs.find((d) => d.path === path);
		if (existing) {
			this.activeId = existing.id;
			return existing;
		}
		const opened = await api.openFile(path);
		const doc = new NetDocument(opened);
		this.docs = [...this.docs, doc];
		this.activeId = doc.id;
		this.selection = { kind: 'net', key: null };
		return doc;
	}

	async create(path) {
		await api.newFile(path);
		return this.open(path);
	}

	async reload(doc) {
		const opened = await api.openFile(doc.path);
		doc.replaceData('reload from disk', opened.data);
		doc.markSaved(opened.data);
		doc.format = opened.format;
	}

	async save(doc) {
		const data = $state.snapshot(doc.data);
		const saved = await api.saveFile(doc.path, data);
		// the file's canonical form (what a reload gives); equal in meaning to what was sent
		if (JSON.stringify(saved.data) !== JSON.stringify(data)) doc.data = saved.data;
		doc.markSaved(saved.data);
		this.notify(`Saved ${saved.path}`);
		return saved;
	}

	close(doc) {
		this.docs = this.docs.filter((d) => d.id !== doc.id);
		if (this.activeId === doc.id) this.activeId = this.docs.at(-1)?.id ?? null;
	}

	select(kind, key = null) {
		this.selection = { kind, key };
	}
}

export const workspace = new Workspace();
