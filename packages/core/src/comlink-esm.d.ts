// comlink ships its ES modules under dist/esm without an `exports` map or `.d.mts` files; Node needs the
// `.mjs` paths at run time, and these declarations point TypeScript at the matching types.
declare module 'comlink/dist/esm/comlink.mjs' {
  export * from 'comlink';
}
declare module 'comlink/dist/esm/node-adapter.mjs' {
  import nodeEndpoint from 'comlink/dist/umd/node-adapter';
  export default nodeEndpoint;
}
