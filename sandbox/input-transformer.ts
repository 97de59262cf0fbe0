// EventBridge's input transformer, for the subset the project's rules use: `InputPathsMap` of
// dotted paths (`$.detail.provider`), the predefined `aws.events.rule-name` and `aws.events.rule-arn`,
// and an `InputTemplate` in which each `<variable>` stands inside a JSON string ("<provider>"). A
// value is put in as JSON string content (escaped); a path the event does not have gives an empty
// string.

export interface InputTransformer {
  InputPathsMap?: Record<string, string>;
  InputTemplate: string;
}

const valueAt = (event: unknown, path: string): unknown =>
  path
    .replace(/^\$\.?/, '')
    .split('.')
    .filter((key) => key !== '')
    .reduce<unknown>(
      (node, key) =>
        node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined,
      event,
    );

/** The text EventBridge sends to the target for this event. */
export const transformInput = (
  transformer: InputTransformer,
  event: unknown,
  rule: { name: string; arn?: string },
): string => {
  const values: Record<string, unknown> = {
    'aws.events.rule-name': rule.name,
    'aws.events.rule-arn': rule.arn ?? '',
  };
  for (const [variable, path] of Object.entries(transformer.InputPathsMap ?? {})) {
    values[variable] = valueAt(event, path);
  }
  return transformer.InputTemplate.replace(/<([\w.-]+)>/g, (whole, variable: string) => {
    if (!(variable in values)) return whole;
    const value = values[variable];
    const text = value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
    // Inside the template's quotes: the string's JSON content, without its own quotes.
    return JSON.stringify(text).slice(1, -1);
  });
};
