/** Tab-separated data tables, embedded as text by the bundle build (esbuild --loader:.tsv=text). */
declare module '*.tsv' {
  const text: string;
  export default text;
}
