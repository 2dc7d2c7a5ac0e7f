// The SMART authorization server of the end-to-end tests: the real `oidc-provider` (npm),
// configured as a SMART App Launch server. Authorization code with PKCE S256 only, rotating
// refresh tokens, RS256 JWT access tokens for the FHIR server (`aud` = its base) carrying
// `scope`, `patient` and `fhirUser`, and the launch context (`patient`, `need_patient_banner`,
// `fhirContext`) added to the token response. Its login page (and, for a standalone launch,
// the patient picker) is a plain form the browser test fills.
//
// Test-only routes, for the test to set the scene: `POST /test/launch` mints an EHR `launch`
// value for `{patient, studyUid}`; `POST /test/revoke` ends every grant (so refreshes fail).
//
// Run: node smart-server.mjs <port> <fhirBase> <redirectUri>[,<redirectUri>…] [patient,…]
// It prints `ready <issuer>` once it listens.
import crypto from 'node:crypto';
import http from 'node:http';
import Provider, { errors } from 'oidc-provider';

const [port, fhirBase, redirects, patientList = ''] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const clientId = 'emr-imaging-viewer';
const accessTokenTTL = Number(process.env.SMART_ACCESS_TOKEN_TTL ?? 60);
const resourceScopes = ['patient/ImagingStudy.rs', 'patient/Endpoint.rs', 'user/Endpoint.rs', 'patient/Patient.rs', 'patient/DiagnosticReport.rs'];
const otherScopes = ['openid', 'fhirUser', 'launch', 'launch/patient', 'online_access', 'offline_access'];
const patients = patientList.split(',').filter(Boolean);

const launches = new Map(); // launch value → {patient, studyUid}
const picked = new Map(); // accountId → patient chosen in the standalone picker
const contexts = new Map(); // grantId → {patient, studyUid}
const grants = new Set();

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256', alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    token_endpoint_auth_method: 'none',
    redirect_uris: redirects.split(','),
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
  }],
  jwks: { keys: [jwk] },
  cookies: { keys: ['emr-imaging-e2e'] },
  scopes: [...otherScopes, ...resourceScopes],
  claims: { openid: ['sub'], fhirUser: ['fhirUser'] },
  pkce: { required: () => true },
  extraParams: {
    // SMART: `aud` must name the FHIR server; `launch` must be one this server minted.
    aud(ctx, value) {
      if (value !== fhirBase) throw new errors.InvalidRequest(`aud must be ${fhirBase}`);
    },
    launch(ctx, value) {
      if (value !== undefined && !launches.has(value)) throw new errors.InvalidRequest('unknown launch');
    },
  },
  features: {
    devInteractions: { enabled: false },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => fhirBase,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: [...resourceScopes, 'launch', 'launch/patient', 'fhirUser', 'online_access', 'offline_access'].join(' '),
        audience: fhirBase,
        accessTokenTTL,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: (ctx, id) => ({ accountId: id, claims: () => ({ sub: id, fhirUser: `Practitioner/${id}` }) }),
  issueRefreshToken: (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  ttl: { RefreshToken: 3600, Session: 3600, Grant: 3600, Interaction: 600, AuthorizationCode: 60 },
  // The trap: every requested scope must be granted as an OIDC scope *and* a resource scope,
  // or consent loops and the flow ends in invalid_grant. A new grant per authorization keeps
  // each launch's context apart.
  async loadExistingGrant(ctx) {
    const accountId = ctx.oidc.session?.accountId;
    if (!accountId) return undefined;
    const launch = ctx.oidc.params.launch;
    const context = launch ? launches.get(launch) : { patient: picked.get(accountId) };
    if (!context?.patient) return undefined;
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId });
    const scope = String(ctx.oidc.params.scope ?? '');
    grant.addOIDCScope(scope);
    grant.addResourceScope(fhirBase, scope);
    const grantId = await grant.save();
    contexts.set(grantId, context);
    grants.add(grantId);
    return grant;
  },
  async extraTokenClaims(ctx, token) {
    const context = contexts.get(token.grantId);
    return context ? { patient: context.patient, fhirUser: `Practitioner/${token.accountId}` } : {};
  },
});

// SMART adds the launch context to the token response.
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path !== '/token' || !ctx.body?.access_token) return;
  const grant = ctx.oidc?.entities?.Grant ?? (ctx.oidc?.entities?.RefreshToken && { jti: ctx.oidc.entities.RefreshToken.grantId });
  const context = grant && contexts.get(grant.jti);
  if (!context) return;
  ctx.body.patient = context.patient;
  ctx.body.need_patient_banner = true;
  if (context.studyUid) {
    ctx.body.fhirContext = [{ type: 'ImagingStudy', identifier: { system: 'urn:dicom:uid', value: `urn:oid:${context.studyUid}` } }];
  }
});

const html = (body) => `<!doctype html><html><head><meta charset="utf-8"><title>Sign in</title><link rel="icon" href="data:,"></head><body>${body}</body></html>`;
const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function body(req) {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text;
}

async function interaction(req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  const standalone = !details.params.launch;
  if (req.method === 'GET') {
    const picker = standalone
      ? `<label>Patient <select name="patient" data-testid="smart-patient">${patients.map((p) => `<option value="${escape(p)}">${escape(p)}</option>`).join('')}</select></label>`
      : '';
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(html(`<form method="post" action="/interaction/${escape(uid)}">
      <label>User <input name="login" data-testid="smart-login" value="dr-e2e"></label>
      <label>Password <input name="password" type="password" value="x"></label>
      ${picker}<button type="submit" data-testid="smart-submit">Sign in</button></form>`));
    return;
  }
  const form = new URLSearchParams(await body(req));
  const accountId = form.get('login') || 'dr-e2e';
  if (standalone) picked.set(accountId, form.get('patient'));
  await provider.interactionFinished(req, res, { login: { accountId } }, { mergeWithLastSubmission: false });
}

const oidc = provider.callback();
const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, issuer);
    const match = url.pathname.match(/^\/interaction\/([\w-]+)$/);
    if (match) return await interaction(req, res, match[1]);
    if (req.method === 'POST' && url.pathname === '/test/launch') {
      const context = JSON.parse(await body(req));
      const launch = crypto.randomBytes(12).toString('base64url');
      launches.set(launch, context);
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ launch }));
    }
    if (req.method === 'POST' && url.pathname === '/test/revoke') {
      for (const id of grants) await (await provider.Grant.find(id))?.destroy();
      grants.clear();
      res.writeHead(204);
      return res.end();
    }
    return oidc(req, res);
  } catch (e) {
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end(String(e?.message ?? e));
  }
});
server.listen(Number(port), '127.0.0.1', () => console.log(`ready ${issuer}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
