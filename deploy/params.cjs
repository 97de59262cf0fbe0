'use strict';

// Stage parameters that are lists or maps. In serverless.yml they are YAML; on the command line
// (`--param name=value`) the framework hands over a string, which is read as JSON. One reader for
// every structured parameter, so that each takes the same form and fails with the same kind of
// error: the parameter's name, what it must be, and where the JSON broke.

/** What `--param` looks like for a parameter, for the error messages. */
const commandLine = (name, example) => `--param '${name}=${example}'`;

/**
 * The parameter's value as the stage gives it (a YAML list or map), or parsed from a command-line
 * JSON string; undefined when absent or empty. `shape` is 'list' or 'map'; `what` says what the
 * value is (default: "a list", "a map") and `example` is a JSON example of it, both shown in errors.
 */
const structuredParam = (name, value, { shape, what = `a ${shape}`, example }) => {
  let parsed = value;
  if (typeof value === 'string') {
    if (value.trim() === '') return undefined;
    try {
      parsed = JSON.parse(value);
    } catch (error) {
      // JSON.parse's message says what broke and where; a parameter holds no secret.
      throw new Error(
        `${name} is not valid JSON (${error.message}); on the command line give it as JSON, e.g. ${commandLine(name, example)}`,
      );
    }
  }
  if (parsed === undefined || parsed === null) return undefined;
  const isList = Array.isArray(parsed);
  const isMap = typeof parsed === 'object' && !isList;
  if ((shape === 'list' && !isList) || (shape === 'map' && !isMap)) {
    throw new Error(`${name} must be ${what}, e.g. ${commandLine(name, example)}`);
  }
  return parsed;
};

/** A list parameter: the list, or [] when absent or empty. */
const listParam = (name, value, options) => structuredParam(name, value, { ...options, shape: 'list' }) ?? [];

/** A map parameter: the map, or {} when absent or empty. */
const mapParam = (name, value, options) => structuredParam(name, value, { ...options, shape: 'map' }) ?? {};

module.exports = { listParam, mapParam, structuredParam };
