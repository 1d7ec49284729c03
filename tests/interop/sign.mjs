// Credentials issued by the field's own libraries, for `credledger verify-vc` to check:
//   node sign.mjs OUTDIR ORIGIN
// ORIGIN (https://127.0.0.1:PORT) is where the test serves the did:web issuer's document and the
// status lists. Writes, as JSON files in OUTDIR: did.json (served at ORIGIN/.well-known/did.json),
// lists (revocation.json, at ORIGIN/status/revocation: entry 7 set, entry 8 clear) and credentials
// named SUITE-DID[-STATUS].json, with the keys from fixed seeds.
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as rdfc} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {createSignCryptosuite, createVerifyCryptosuite} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import {Ed25519Signature2020} from '@digitalbazaar/ed25519-signature-2020';
import {Ed25519VerificationKey2020} from '@digitalbazaar/ed25519-verification-key-2020';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {createList, createCredential} from '@digitalbazaar/vc-bitstring-status-list';
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {documentLoader} from './loader.mjs';

const [outDir, origin] = process.argv.slice(2);
if(!outDir || !origin) {
  console.error('usage: node sign.mjs OUTDIR ORIGIN');
  process.exit(2);
}
const loader = documentLoader({origins: [origin]});
const seed = byte => new Uint8Array(32).fill(byte);
const write = (name, value) => writeFileSync(join(outDir, name), JSON.stringify(value, null, 2));

// did:key issuers (one Multikey for Data Integrity, one 2020 key for Ed25519Signature2020).
const multikey = await Ed25519Multikey.generate({seed: seed(41)});
const didKey = `did:key:${multikey.publicKeyMultibase}`;
multikey.controller = didKey;
multikey.id = `${didKey}#${multikey.publicKeyMultibase}`;
const key2020 = await Ed25519VerificationKey2020.generate({seed: seed(42)});
const didKey2020 = `did:key:${key2020.publicKeyMultibase}`;
key2020.controller = didKey2020;
key2020.id = `${didKey2020}#${key2020.publicKeyMultibase}`;

// A did:web issuer at ORIGIN.
const webKey = await Ed25519Multikey.generate({seed: seed(43)});
const host = new URL(origin).host.replace(':', '%3A');
const didWeb = `did:web:${host}`;
webKey.controller = didWeb;
webKey.id = `${didWeb}#key-1`;
const publicKey = await webKey.export({publicKey: true, includeContext: false});
write('did.json', {
  '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1'],
  id: didWeb,
  verificationMethod: [publicKey],
  assertionMethod: [webKey.id]
});

const suite = (kind, key) => kind === 'ed25519-2020' ?
  new Ed25519Signature2020({key}) :
  new DataIntegrityProof({signer: key.signer(), cryptosuite: kind === 'rdfc' ? rdfc : createSignCryptosuite()});

// The did:web issuer's revocation list: entry 7 revoked.
const listUrl = `${origin}/status/revocation`;
const list = await createList({length: 131072});
list.setStatus(7, true);
for(const kind of ['rdfc', 'jcs']) {
  const unsigned = await createCredential({id: listUrl, list, statusPurpose: 'revocation'});
  unsigned.issuer = didWeb;
  unsigned.validFrom = '2026-01-01T00:00:00Z';
  write(`revocation-${kind}.json`,
    await vc.issue({credential: unsigned, suite: suite(kind, webKey), documentLoader: loader}));
}

const credential = ({issuer, title, status}) => ({
  '@context': ['https://www.w3.org/ns/credentials/v2', 'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json'],
  id: `urn:uuid:7d2b7a4e-${title.length.toString(16).padStart(4, '0')}-4c1e-9e57-2b4f1a0c9d11`,
  type: ['VerifiableCredential', 'OpenBadgeCredential'],
  name: title,
  issuer: {id: issuer, type: ['Profile'], name: 'Elsewhere Institute'},
  validFrom: '2026-01-01T00:00:00Z',
  credentialSubject: {
    id: 'did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2',
    type: ['AchievementSubject'],
    achievement: {
      id: 'urn:uuid:7d2b7a4e-0000-4c1e-9e57-2b4f1a0c9d12',
      type: ['Achievement'],
      name: title,
      description: `The course ${title}.`,
      criteria: {narrative: 'Passed the final assessment.'}
    }
  },
  ...(status === undefined ? {} : {credentialStatus: {
    id: `${listUrl}#${status}`,
    type: 'BitstringStatusListEntry',
    statusPurpose: 'revocation',
    statusListIndex: `${status}`,
    statusListCredential: listUrl
  }})
});

const issue = async (name, kind, key, issuer, title, status) =>
  write(name, await vc.issue({
    credential: credential({issuer, title, status}), suite: suite(kind, key), documentLoader: loader
  }));

await issue('rdfc-didkey.json', 'rdfc', multikey, didKey, 'Forklift Safety');
await issue('jcs-didkey.json', 'jcs', multikey, didKey, 'Crane Signals');
await issue('ed25519-2020-didkey.json', 'ed25519-2020', key2020, didKey2020, 'Rigging Basics');
for(const kind of ['rdfc', 'jcs']) {
  await issue(`${kind}-didweb-active.json`, kind, webKey, didWeb, 'Welding Safety', 8);
  await issue(`${kind}-didweb-revoked.json`, kind, webKey, didWeb, 'Welding Safety II', 7);
}
console.log(JSON.stringify({didKey, didKey2020, didWeb}));
