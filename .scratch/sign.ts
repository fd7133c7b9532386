import { generateKeyPair, SignJWT, exportJWK, importJWK } from 'jose';
import { createPrivateKey, sign as nodeSign } from 'node:crypto';
const { privateKey } = await generateKeyPair('ES256', { extractable: true });
const claims = { iss: 'x', sub: 'user-1', aud: 'resource://payments', scope: 'a b', jti: 'jti_01', sid: 'ses_1', iat: 1, exp: 2, zone_id: 'z', policy_version: 1, request_id: 'r' };
for (let round = 0; round < 2; round++) {
  let t0 = performance.now();
  for (let i = 0; i < 2000; i++) await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k', typ: 'at+jwt' }).sign(privateKey);
  console.log('jose sign sequential us/op', ((performance.now() - t0) * 1000 / 2000).toFixed(1));
  t0 = performance.now();
  await Promise.all(Array.from({ length: 2000 }, () => new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k', typ: 'at+jwt' }).sign(privateKey)));
  console.log('jose sign concurrent us/op', ((performance.now() - t0) * 1000 / 2000).toFixed(1));
  const jwk = await exportJWK(privateKey);
  const ko = createPrivateKey({ key: jwk as any, format: 'jwk' });
  t0 = performance.now();
  for (let i = 0; i < 2000; i++) nodeSign('sha256', Buffer.from('header.payload' + i), { key: ko, dsaEncoding: 'ieee-p1363' });
  console.log('node sign sync us/op', ((performance.now() - t0) * 1000 / 2000).toFixed(1));
  const cpu0 = process.cpuUsage(); t0 = performance.now();
  await Promise.all(Array.from({ length: 2000 }, () => new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k', typ: 'at+jwt' }).sign(privateKey)));
  const cpu = process.cpuUsage(cpu0);
  console.log('jose concurrent: wall us/op', ((performance.now() - t0) * 1000 / 2000).toFixed(1), 'cpu us/op', ((cpu.user + cpu.system) / 2000).toFixed(1));
}
