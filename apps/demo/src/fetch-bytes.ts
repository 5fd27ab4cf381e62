// fetch → bytes, with the page's messages for a failing URL (HTTP error, network error, an HTML page instead of a file).

export async function fetchBytes(url: string, what: string): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new Error(`could not load the ${what} from ${url}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!response.ok) throw new Error(`could not load the ${what} from ${url}: HTTP ${response.status} ${response.statusText}`.trimEnd());
  if ((response.headers.get('content-type') ?? '').startsWith('text/html')) throw new Error(`could not load the ${what} from ${url}: the server sent an HTML page`);
  return new Uint8Array(await response.arrayBuffer());
}
