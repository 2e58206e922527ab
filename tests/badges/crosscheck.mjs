// The independent check of our badges: Digital Bazaar's VC libraries (the reference implementation
// of eddsa-rdfc-2022 in JavaScript) verify what the Python code signs, and sign one credential for
// the Python code to verify. Offline: the document loader answers only the contexts bundled in
// data/credentials/contexts, did:key (resolved from the identifier itself) and the status lists given.
//
// stdin: {"contexts": {url: file}, "verify": [{"name", "credential", "now"}],
//         "statusLists": {url: credential}, "sign": credential template | null}
// stdout: {"results": {name: {"proof": bool, "credential": bool, "revoked": bool|null, "errors": [..]}},
//          "signed": credential | null}
import {createPublicKey, verify as verifySignature} from 'node:crypto';
import {readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as didKey from '@digitalbazaar/did-method-key';
import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';
import jsigs from 'jsonld-signatures';

const here = dirname(fileURLToPath(import.meta.url));
const contextsDir = join(here, '..', '..', 'data', 'credentials', 'contexts');
const input = JSON.parse(readFileSync(0, 'utf8'));

const contexts = new Map();
for(const [url, file] of Object.entries(input.contexts)) {
  contexts.set(url, JSON.parse(readFileSync(join(contextsDir, file), 'utf8')));
}
const statusLists = new Map(Object.entries(input.statusLists || {}));
const didKeyDriver = didKey.driver();
didKeyDriver.use({multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519Multikey.from});

async function documentLoader(url) {
  if(contexts.has(url)) {
    return {contextUrl: null, documentUrl: url, document: contexts.get(url)};
  }
  if(statusLists.has(url)) {
    return {contextUrl: null, documentUrl: url, document: statusLists.get(url)};
  }
  if(url.startsWith('did:key:')) {
    const document = await didKeyDriver.get({url});
    return {contextUrl: null, documentUrl: url, document};
  }
  throw new Error(`refused to load ${url}: not bundled (offline)`);
}

const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022});

function messages(result) {
  const found = [];
  const walk = error => {
    if(!error) {
      return;
    }
    if(Array.isArray(error)) {
      error.forEach(walk);
      return;
    }
    found.push(String(error.message || error));
    walk(error.errors);
  };
  walk(result.error);
  for(const item of result.results || []) {
    walk(item.error);
  }
  for(const item of (result.statusResult && result.statusResult.results) || []) {
    walk(item.error);
  }
  if(result.statusResult && result.statusResult.error) {
    walk(result.statusResult.error);
  }
  return found;
}

const results = {};
for(const {name, credential, now} of input.verify || []) {
  const proof = await jsigs.verify(structuredClone(credential), {
    suite, purpose: new vc.CredentialIssuancePurpose(), documentLoader
  });
  let full;
  try {
    full = await vc.verifyCredential({
      credential: structuredClone(credential), suite, documentLoader, now,
      checkStatus: options => checkStatus({...options, verifyBitstringStatusListCredential: true})
    });
  } catch(error) {
    full = {verified: false, error};
  }
  const statuses = (full.statusResult && full.statusResult.results) || [];
  results[name] = {
    proof: proof.verified,
    credential: full.verified,
    revoked: statuses.length ? statuses.some(status => status.status === true) : null,
    errors: [...messages(proof), ...messages(full)]
  };
}

let signed = null;
if(input.sign) {
  const keyPair = await Ed25519Multikey.generate();
  keyPair.controller = `did:key:${keyPair.publicKeyMultibase}`;
  keyPair.id = `${keyPair.controller}#${keyPair.publicKeyMultibase}`;
  const credential = structuredClone(input.sign);
  credential.issuer = {...credential.issuer, id: keyPair.controller};
  const signingSuite = new DataIntegrityProof({signer: keyPair.signer(), cryptosuite: eddsaRdfc2022});
  signed = await vc.issue({credential, suite: signingSuite, documentLoader});
}
async function jwtVerified(token) {
  try {
    const [header, payload, signature] = token.split('.');
    const {alg, kid} = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    const {document: method} = await documentLoader(kid);
    const key = await Ed25519Multikey.from(method);
    const publicKey = createPublicKey({
      key: {kty: 'OKP', crv: 'Ed25519', x: Buffer.from(key.publicKey).toString('base64url')},
      format: 'jwk'
    });
    const issuer = typeof claims.issuer === 'object' ? claims.issuer.id : claims.issuer;
    return alg === 'EdDSA' && issuer === kid.split('#')[0] && verifySignature(
      null, Buffer.from(`${header}.${payload}`), publicKey, Buffer.from(signature, 'base64url'));
  } catch(error) {
    return false;
  }
}

const jwts = {};
for(const [name, token] of Object.entries(input.jwts || {})) {
  jwts[name] = await jwtVerified(token);
}
process.stdout.write(JSON.stringify({results, signed, jwts}));
