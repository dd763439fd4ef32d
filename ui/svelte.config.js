import adapter from '@sveltejs/adapter-static';

/** The editor is a single-page app: every route falls back to index.html, which the
 * FastAPI backend (netrun.ui) serves from src/netrun/ui/static/. */
const config = {
	kit: {
		adapter: adapter({ pages: 'build', assets: 'build', fallback: 'index.html', strict: false }),
		appDir: '_app',
		version: { name: 'netrun-ui' }
	}
};

export default config;
