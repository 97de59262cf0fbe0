import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { type BuildOptions, build, stop } from 'esbuild';

// Bundles handlers the way `serverless package` does: serverless-esbuild hands custom.esbuild to
// esbuild after removing its own keys (this list is its own, from serverless-esbuild's bundle.js),
// turns `exclude` into `external` and `outputFileExtension` into `outExtension`.
const PLUGIN_KEYS = [
  'concurrency',
  'zipConcurrency',
  'exclude',
  'nativeZip',
  'packager',
  'packagePath',
  'watch',
  'keepOutputDirectory',
  'packagerOptions',
  'installExtraArgs',
  'outputFileExtension',
  'outputBuildFolder',
  'outputWorkFolder',
  'nodeExternals',
  'skipBuild',
  'skipRebuild',
  'skipBuildExcludeFns',
  'stripEntryResolveExtensions',
  'disposeContext',
];

export interface Bundle {
  name: string;
  file: string;
  bytes: number;
  mapBytes: number;
}

export const esbuildOptions = (custom: Record<string, unknown>): BuildOptions => {
  const options = Object.fromEntries(Object.entries(custom).filter(([key]) => !PLUGIN_KEYS.includes(key)));
  const extension = String(custom.outputFileExtension ?? '.js');
  return {
    ...options,
    external: [...((custom.external as string[]) ?? []), ...((custom.exclude as string[]) ?? [])],
    ...(extension === '.js' ? {} : { outExtension: { '.js': extension } }),
  };
};

/**
 * One esbuild call per entry, as serverless-esbuild makes. Packages resolve from the project's
 * node_modules even for entries outside it (the peers), through `nodePaths`.
 */
export const bundle = async (
  root: string,
  custom: Record<string, unknown>,
  entries: Record<string, string>,
  outdir: string,
): Promise<Bundle[]> => {
  const options = esbuildOptions(custom);
  const extension = String(custom.outputFileExtension ?? '.js');
  const bundles = await Promise.all(
    Object.entries(entries).map(async ([name, entry]) => {
      const dir = join(outdir, name);
      await build({
        ...options,
        entryPoints: [entry],
        outdir: dir,
        absWorkingDir: root,
        nodePaths: [join(root, 'node_modules')],
        logLevel: 'warning',
      });
      const file = join(dir, basename(entry).replace(/\.[cm]?[jt]s$/, extension));
      const mapBytes = await stat(`${file}.map`).then(
        (s) => s.size,
        () => 0,
      );
      return { name, file, bytes: (await stat(file)).size, mapBytes };
    }),
  );
  // esbuild's service process would otherwise idle beside the measurements.
  await stop();
  return bundles;
};
