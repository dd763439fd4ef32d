import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

// `npm run dev` proxies the API to a backend started with `netrun ui --port 8765`.
export default defineConfig({
	plugins: [sveltekit()],
	server: {
		proxy: {
			'/api': 'http://127.0.0.1:8765',
			'/ws': { target: 'ws://127.0.0.1:8765', ws: true }
		}
	},
	build: { chunkSizeWarningLimit: 1500 }
});
