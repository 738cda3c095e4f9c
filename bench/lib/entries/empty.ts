// An empty module: the cost of Node's ES module loader itself (bench/cold-start.ts).
export const nothing = null;
