// Each credential checked by the field's verifiers, as their users call them:
//   node verify.mjs [--origin URL]... [--context URL=FILE]... FILE...
// For each FILE, one JSON line: {file, safeMode, vc, verifierCore}:
//   safeMode: jsonld canonize with {safe: true} (every term defined, the proof's too), ok or the error;
//   vc: @digitalbazaar/vc with the eddsa-rdfc-2022, eddsa-jcs-2022 and Ed25519Signature2020
//       suites and @digitalbazaar/vc-bitstring-status-list's checkStatus: verified, the status
//       results (purpose, whether the list checked out and whether the bit is set), and errors;
//   verifierCore: @digitalcredentials/verifier-core (the Learner Credential Wallet's and
//       VerifierPlus's verifier): its log's signature step (valid or not), whether it found the
//       credential revoked and suspended (null without a status entry), and errors.
// --origin: where the loader may fetch (status lists, did:web documents); contexts never.
import * as vc from '@digitalbazaar/vc';
import jsonld from 'jsonld';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as rdfc} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {createSignCryptosuite, createVerifyCryptosuite} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import {Ed25519Signature2020} from '@digitalbazaar/ed25519-signature-2020';
import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';
import {verifyCredential as verifierCore} from '@digitalcredentials/verifier-core';
import {readFileSync} from 'node:fs';
import {documentLoader} from './loader.mjs';

const origins = [];
const extraContexts = {};
const files = [];
const args = process.argv.slice(2);
for(let i = 0; i < args.length; i++) {
  if(args[i] === '--origin') {
    origins.push(args[++i]);
  } else if(args[i] === '--context') {
    const [url, file] = args[++i].split(/=(.*)/s);
    extraContexts[url] = file;
  } else {
    files.push(args[i]);
  }
}
const loader = documentLoader({origins, extraContexts});
// stdout holds only the verdict lines: what the libraries log (verifier-core logs a JSON Schema it
// could not fetch) goes to stderr.
const emit = line => process.stdout.write(JSON.stringify(line) + '\n');
console.log = (...args) => console.error(...args);
// Nothing leaves the machine: the verifiers' own fetches (verifier-core also fetches JSON Schemas)
// reach only the origins named; anything else fails as if offline. verifier-core's loader has no
// option for contexts: it fetches the ones it does not bundle (CLR 2.0.1) from their URL, which
// answers here with the --context file, the published context's bytes (a copy pinned by hash).
const realFetch = globalThis.fetch;
globalThis.fetch = (resource, init) => {
  const url = String(resource?.url ?? resource);
  if(Object.hasOwn(extraContexts, url)) {
    return Promise.resolve(new Response(readFileSync(extraContexts[url]),
      {status: 200, headers: {'content-type': 'application/ld+json'}}));
  }
  return origins.some(origin => url.startsWith(origin + '/')) ? realFetch(resource, init) :
    Promise.reject(new TypeError(`fetch refused (not under --origin): ${url}`));
};
const suite = [
  new DataIntegrityProof({cryptosuite: rdfc}),
  new DataIntegrityProof({cryptosuite: createVerifyCryptosuite()}),
  new Ed25519Signature2020()
];
const message = error => error ? String(error.message || error) +
  (error.errors ? ': ' + error.errors.map(e => e.message).join('; ') : '') +
  (error.cause ? ` (${error.cause.message || error.cause})` : '') : undefined;

for(const file of files) {
  const credential = JSON.parse(readFileSync(file, 'utf8'));
  const line = {file};
  try {
    // The whole credential, its proof's terms too.
    await jsonld.canonize(credential, {algorithm: 'URDNA2015', format: 'application/n-quads', safe: true, documentLoader: loader});
    line.safeMode = {ok: true};
  } catch(error) {
    line.safeMode = {ok: false, error: message(error)};
  }
  try {
    const statuses = [credential.credentialStatus].flat().filter(Boolean);
    const bitstring = statuses.length > 0 && statuses.every(s => s.type === 'BitstringStatusListEntry');
    const result = await vc.verifyCredential({
      credential, suite, documentLoader: loader, ...(bitstring ? {checkStatus} : {})
    });
    line.vc = {
      verified: result.verified,
      proof: result.results?.every(r => r.verified) ?? false,
      status: (result.statusResult?.results || []).map(r =>
        ({purpose: r.credentialStatus?.statusPurpose, checked: r.verified, set: r.status})),
      errors: [message(result.error), message(result.statusResult?.error)].filter(Boolean)
    };
  } catch(error) {
    line.vc = {verified: false, errors: [message(error)]};
  }
  try {
    const result = await verifierCore({credential, knownDIDRegistries: []});
    // Its log: one step per check, `valid` whether the credential passed it (a revoked
    // credential fails revocation_status), or an error when the check could not be made.
    const steps = Object.fromEntries((result.log || []).map(step => [step.id, step]));
    const failed = id => typeof steps[id]?.valid === 'boolean' ? !steps[id].valid :
      (steps[id]?.error ? 'error' : null);
    line.verifierCore = {
      signature: steps.valid_signature?.valid ?? null,
      revoked: failed('revocation_status'),
      suspended: failed('suspension_status'),
      errors: (result.errors || []).map(e => e.message).concat((result.log || []).filter(s => s.error).map(s => `${s.id}: ${s.error.message}`))
    };
  } catch(error) {
    line.verifierCore = {errors: [message(error)]};
  }
  emit(line);
}
