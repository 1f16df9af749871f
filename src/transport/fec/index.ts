export { type FecCode, FecError } from './FecCode.js';
export { XorCode, xorInto } from './XorCode.js';
export { ReedSolomonCode } from './ReedSolomonCode.js';
export { gfMul, gfInv, mulAddRow } from './gf256.js';
