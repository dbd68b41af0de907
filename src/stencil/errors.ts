/** Input the stencil module cannot turn into something cuttable; the CLI reports it as bad input (exit 2). */
export class StencilInputError extends Error {
  override name = 'StencilInputError';
}
