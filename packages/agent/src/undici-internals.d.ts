// Types for the undici module http-client.ts loads directly (undici ships types for its entry
// point only).
declare module 'undici/lib/dispatcher/client.js' {
  const Client: unknown;
  export default Client;
}
