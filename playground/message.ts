// The banner above the page: errors (a backend that does not start, a model file that does not fit,
// a diverged run) and notes, in words rather than a console trace.
const $ = (id: string) => document.getElementById(id)!;

/** Shows `text` in the banner; 'error' in red, 'info' in blue. */
export function showMessage(text: string, kind: 'error' | 'info' = 'error'): void {
  $('message-text').textContent = text;
  $('message').classList.toggle('info', kind === 'info');
  $('message').dataset.kind = kind;
  $('message').hidden = false;
}

export function clearMessage(): void {
  $('message').hidden = true;
  $('message-text').textContent = '';
}

/** The message of anything thrown: an Error's message, else its string. */
export function describeError(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

$('message-close').addEventListener('click', clearMessage);
