/**
 * The few fields the cache reads from S3's XML answers (UploadId, ETag, Key, error Code, ...),
 * and escaping for the one XML body it sends (CompleteMultipartUpload). S3's answers are flat
 * enough that a tag match is exact: no element the cache reads nests another of the same name.
 */

const ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function xmlUnescape(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, name: string) =>
    name.startsWith('#x') ? String.fromCodePoint(parseInt(name.slice(2), 16))
      : name.startsWith('#') ? String.fromCodePoint(parseInt(name.slice(1), 10)) : ENTITIES[name]!);
}

export function xmlEscape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&${Object.keys(ENTITIES).find((k) => ENTITIES[k] === c)};`);
}

/** Every text value of `<tag>` elements, unescaped, in document order. */
export function xmlValues(xml: string, tag: string): string[] {
  const values: string[] = [];
  const pattern = new RegExp(`<${tag}>([^<]*)</${tag}>`, 'g');
  for (let m = pattern.exec(xml); m !== null; m = pattern.exec(xml)) values.push(xmlUnescape(m[1]!));
  return values;
}

/** The first `<tag>` value, or undefined. */
export function xmlValue(xml: string, tag: string): string | undefined {
  return xmlValues(xml, tag)[0];
}
