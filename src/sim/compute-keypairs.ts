import type { ComputeApi } from "./compute-api.js";
import { ge, invalid } from "./compute-api.js";
import { novaError } from "./errors.js";
import type { Router, SimRequest } from "./http.js";
import { asRecord, nowNaive } from "./http.js";
import { checkNovaSimple, novaUsage } from "./quotas.js";
import { generateSshKeypair, sshFingerprint } from "./sshkeys.js";
import type { World } from "./world.js";

/** Keypairs (per user). */
export function registerKeypairs(r: Router, api: ComputeApi): void {
  const { w, ok } = api;
  // --- keypairs
  const kpKey = (userId: string, name: string) => `${userId}/${name}`;
  const kpView = (req: SimRequest, k: World["data"]["keypairs"][string], full: boolean) => ({
    ...(full ? { created_at: k.createdAt, deleted: false, deleted_at: null } : {}),
    fingerprint: k.fingerprint,
    ...(full ? { id: k.id } : {}),
    name: k.name,
    public_key: k.publicKey,
    ...(ge(req, 2) ? { type: k.type } : {}),
    ...(full ? { updated_at: null } : {}),
    user_id: k.userId,
  });
  r.get("/os-keypairs", (req) =>
    ok({
      keypairs: Object.values(w().data.keypairs)
        .filter((k) => k.userId === req.auth.userId)
        .map((k) => {
          const { user_id: _u, ...rest } = kpView(req, k, false);
          return { keypair: rest };
        }),
    }),
  );
  r.post("/os-keypairs", (req) => {
    const b = asRecord(asRecord(req.body)?.["keypair"]);
    if (!b) throw invalid("keypair", req.body, "'keypair' is a required property");
    const name = b["name"];
    if (typeof name !== "string" || name.length === 0 || name.length > 255) throw invalid("name", name, `${JSON.stringify(name)} is not of type 'string'`);
    if (!/^[a-zA-Z0-9 _.@-]+$/.test(name)) {
      throw novaError(400, "Keypair data is invalid: Keypair name contains unsafe characters");
    }
    const extra = Object.keys(b).filter((k) => !["name", "public_key", "type", "user_id"].includes(k));
    if (extra.length) throw invalid("keypair", b, `Additional properties are not allowed ('${extra[0]}' was unexpected)`);
    if (w().data.keypairs[kpKey(req.auth.userId, name)]) throw novaError(409, `Key pair '${name}' already exists.`);
    checkNovaSimple(w(), req.auth.projectId, "key_pairs", novaUsage(w(), req.auth.projectId, req.auth.userId)["key_pairs"] ?? 0, "key pairs");
    let publicKey = b["public_key"];
    let privateKey: string | undefined;
    if (publicKey === undefined) {
      if (ge(req, 92)) throw invalid("keypair", b, "'public_key' is a required property");
      const gen = generateSshKeypair(`Generated-by-Nova`);
      publicKey = gen.publicKey;
      privateKey = gen.privateKey;
    }
    if (typeof publicKey !== "string") throw invalid("public_key", publicKey, `${JSON.stringify(publicKey)} is not of type 'string'`);
    const fingerprint = sshFingerprint(publicKey);
    if (!fingerprint) throw novaError(400, "Keypair data is invalid: failed to generate fingerprint");
    w().data.counters.keypair += 1;
    const kp = {
      id: w().data.counters.keypair,
      name,
      userId: req.auth.userId,
      publicKey: publicKey.trim(),
      fingerprint,
      type: b["type"] === "x509" ? "x509" : "ssh",
      createdAt: nowNaive(true),
    };
    w().data.keypairs[kpKey(req.auth.userId, name)] = kp;
    const view: Record<string, unknown> = { fingerprint, name, public_key: kp.publicKey, ...(ge(req, 2) ? { type: kp.type } : {}), user_id: kp.userId };
    if (privateKey) view["private_key"] = privateKey;
    return ok({ keypair: view }, ge(req, 2) ? 201 : 200);
  });
  const getKp = (req: SimRequest) => {
    const k = w().data.keypairs[kpKey(req.auth.userId, req.params["name"] as string)];
    if (!k) throw novaError(404, `Keypair ${req.params["name"]} not found for user ${req.auth.userId}`);
    return k;
  };
  r.get("/os-keypairs/{name}", (req) => ok({ keypair: kpView(req, getKp(req), true) }));
  r.delete("/os-keypairs/{name}", (req) => {
    const k = getKp(req);
    delete w().data.keypairs[kpKey(k.userId, k.name)];
    return { status: ge(req, 2) ? 204 : 202 };
  });
}
