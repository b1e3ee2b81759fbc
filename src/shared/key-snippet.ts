/**
 * The text DPC verifies a public key upload's signature against (server behaviour §3), no trailing newline: the client
 * signs it and the embedded sandbox verifies it, from this one copy. Imports nothing.
 */
export const DPC_SNIPPET = 'This is the snippet used to verify a key pair in DPC.';
