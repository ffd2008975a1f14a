// Escape sequences, longest forms first. ESC may be written as the C1 byte itself (U+009B CSI, U+009D OSC…).
//  - OSC, DCS, SOS, PM, APC: a string ended by BEL or ST (ESC \ or U+009C), or running to the end of the text;
//  - CSI: parameters, intermediates, one final byte;
//  - any other ESC sequence: intermediates and one final byte (ESC c resets the terminal, ESC ( 0 switches
//    character sets).
const STRING_SEQUENCE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
  /(?:\u001b[\]PX^_]|[\u009d\u0090\u0098\u009e\u009f])[^\u0007\u001b\u009c]*(?:\u0007|\u001b\\|\u009c|$)/gu;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CSI_SEQUENCE = /(?:\u001b\[|\u009b)[\u0030-\u003f]*[\u0020-\u002f]*[\u0040-\u007e]?/gu;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const ESC_SEQUENCE = /\u001b[\u0020-\u002f]*[\u0030-\u007e]?/gu;
// What is left of C0 (but newline and tab), DEL and C1.
const CONTROL = /(?![\n\t])\p{Cc}/gu;

/**
 * Text that came from a task (its output, result or error, ultimately from files, tools and models) made safe to
 * print on a terminal: terminal escape sequences (colour, cursor moves, clear screen, window title, hyperlinks,
 * OSC 52 clipboard writes) and every other control character but newline and tab are removed.
 *
 * @example
 * plain('TODO \u001b]0;pwned\u0007\u001b[2Jdone') // 'TODO done'
 */
export function plain(text: string): string {
  return text
    .replace(STRING_SEQUENCE, '')
    .replace(CSI_SEQUENCE, '')
    .replace(ESC_SEQUENCE, '')
    .replace(CONTROL, '');
}
