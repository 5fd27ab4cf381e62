// DOM helpers shared by the two panels.

/** The element with this id (the page's ids are fixed in index.html). */
export const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

/** Shows `message` in an alert box, or empties and hides the box (null). */
export function setMessage(box: HTMLElement, message: string | null): void {
  box.textContent = message ?? '';
  box.hidden = message === null;
}

/** An error's message, for the page. */
export const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
