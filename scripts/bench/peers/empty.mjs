// Peer "empty": what Node costs on its own, a process whose handler does nothing.
export const handler = async () => ({ statusCode: 200, body: '{}' });
