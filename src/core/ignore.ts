/** Does nothing: the handler for what is dropped on purpose (a late rejection, a relay that never started). */
export function ignore(): void {}
