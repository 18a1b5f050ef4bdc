/** The Nova microversion range the simulator implements; a profile may cap the maximum lower. */
export type Microversion = readonly [number, number];

export const NOVA_MIN: Microversion = [2, 1];
export const NOVA_MAX: Microversion = [2, 93];
