// The editor talks to a live backend; nothing is rendered on a server.
export const ssr = false;
export const prerender = false;
