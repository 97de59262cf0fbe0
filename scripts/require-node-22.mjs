// npm scripts must run on the Node 22 that the `node` devDependency puts first on PATH. If that
// install step was skipped (`npm ci --ignore-scripts`), npm would silently run them on the
// machine's Node instead: fail loudly rather than test on a runtime Lambda does not use.
const major = Number(process.versions.node.split('.')[0]);
if (major !== 22) {
  console.error(
    `This project runs on Node 22 (Lambda nodejs22.x); this npm script got Node ${process.versions.node}.\n` +
      'Run `npm ci` without --ignore-scripts so that the `node` devDependency installs Node 22.',
  );
  process.exit(1);
}
