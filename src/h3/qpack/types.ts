/**
 * A field line as HTTP/3 and QPACK see it: [name, value]. Names are lower-case.
 * Strings are latin1 ("binary") so every byte 0x00–0xFF round-trips; HTTP field values
 * are ASCII in practice (RFC 9110 §5.5).
 */
export type FieldLine = [name: string, value: string];
