// A third-party OID4VCI wallet as the referee of credledger's issuer agent: Sphereon's
// @sphereon/oid4vci-client (OpenID4VCI draft 15, which 1.0 final keeps on the wire for the
// pre-authorized code flow), used the way its README shows, with a fresh did:key made by
// Digital Bazaar's @digitalbazaar/ed25519-multikey for each claim.
//
//   node wallet.mjs OFFER_URI [PIN]
//
// OFFER_URI: openid-credential-offer://?credential_offer_uri=... (or the offer URL itself).
// Prints {did, credential, response} as JSON on stdout; on a refusal, the client's error on
// stderr and exit code 1.

import { OpenID4VCIClient } from '@sphereon/oid4vci-client';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';

const [offerUri, pin] = process.argv.slice(2);
if (!offerUri) {
  console.error('usage: node wallet.mjs OFFER_URI [PIN]');
  process.exit(2);
}

const base64url = (bytes) => Buffer.from(bytes).toString('base64url');

async function main() {
  const keyPair = await Ed25519Multikey.generate();
  const did = `did:key:${keyPair.publicKeyMultibase}`;
  const kid = `${did}#${keyPair.publicKeyMultibase}`;
  const signer = keyPair.signer();

  // The JWT the client asks for, signed with the wallet's key (compact JWS, EdDSA).
  const signCallback = async (jwt, kidFromClient) => {
    const header = { ...jwt.header, alg: 'EdDSA', kid: kidFromClient ?? kid };
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(jwt.payload))}`;
    const signature = await signer.sign({ data: new TextEncoder().encode(signingInput) });
    return `${signingInput}.${base64url(signature)}`;
  };

  const uri = offerUri.startsWith('http')
    ? `openid-credential-offer://?credential_offer_uri=${encodeURIComponent(offerUri)}`
    : offerUri;
  const client = await OpenID4VCIClient.fromURI({ uri, kid, alg: 'EdDSA', retrieveServerMetadata: true });
  await client.acquireAccessToken(pin === undefined ? {} : { pin });
  const response = await client.acquireCredentials({
    credentialTypes: ['VerifiableCredential', 'OpenBadgeCredential'],
    format: 'ldp_vc',
    kid,
    alg: 'EdDSA',
    proofCallbacks: { signCallback },
  });
  const credential = response.credentials?.[0]?.credential ?? response.credential;
  if (!credential) {
    throw new Error(`no credential in the response: ${JSON.stringify(response)}`);
  }
  const { access_token: _token, ...shown } = response;
  process.stdout.write(`${JSON.stringify({ did, credential, response: shown }, null, 2)}\n`);
}

main().catch((e) => {
  console.error(`wallet: ${e?.message ?? e}`);
  if (e?.cause) console.error(`cause: ${JSON.stringify(e.cause)}`);
  process.exit(1);
});
