import { createHash } from "node:crypto";

/** Ports of the switch, one per service: SWITCH_PORTS.first … first + count - 1. */
export const SWITCH_PORTS = { first: 10000, count: 50000 } as const;

/**
 * The switch port of a service: a hash of its name alone, so that adding, removing or reordering
 * services never moves a route to another service's port. Two names of one stack that hash to the
 * same port (about n² / 100,000 for n services) are refused by the config loader.
 */
export function switchPort(service: string): number {
  return SWITCH_PORTS.first + (createHash("sha256").update(service).digest().readUInt32BE(0) % SWITCH_PORTS.count);
}
