/** dynalite ships no types: the one call the sandbox makes. */
declare module "dynalite" {
  import type { Server } from "node:http";
  export default function dynalite(options: {
    createTableMs?: number;
    deleteTableMs?: number;
  }): Server;
}
