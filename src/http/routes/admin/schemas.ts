/**
 * Path, query and response schemas of the admin API. Request bodies are the operator schemas
 * (src/operator/schemas.ts). Responses are serialized through these, so a field that is not
 * listed here (a password or token hash, say) can never reach a client.
 */
import { Type } from "typebox";
import { STATUS_CODES } from "../../../instances/model.js";
import { HexId, InstanceState, Role, SceneTag } from "../../../operator/schemas.js";

const closed = { additionalProperties: false } as const;

export const TenantParams = Type.Object({ tenant_id: HexId }, closed);
export const UserParams = Type.Object({ user_id: HexId }, closed);
export const TokenParams = Type.Object({ token_id: HexId }, closed);
export const InstanceParams = Type.Object(
  { instance_id: Type.String({ pattern: "^[A-Za-z0-9]{8}$", description: "8 characters" }) },
  closed,
);

/** Query strings arrive as text; the operation checks the bounds. */
export const PageQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.String({ pattern: "^[0-9]{1,10}$", description: "1 to 1000; default 100" }),
    ),
    offset: Type.Optional(Type.String({ pattern: "^[0-9]{1,10}$", description: "default 0" })),
  },
  closed,
);

const Time = Type.String({ description: "ISO 8601, UTC" });

export const TenantOut = Type.Object({
  tenant_id: Type.String(),
  name: Type.String(),
  subscribed: Type.Boolean(),
  rate_limit: Type.Union([Type.Integer(), Type.Null()], {
    description: "requests per second; null = the server default",
  }),
  created_at: Time,
});

export const TenantDetailOut = Type.Object({
  ...TenantOut.properties,
  instances_by_running_status: Type.Object(
    Object.fromEntries(STATUS_CODES.running_status.map((code) => [String(code), Type.Integer()])),
    { description: "instance counts keyed by running_status code" },
  ),
});

export const TenantPage = Type.Object({
  tenants: Type.Array(TenantOut),
  limit: Type.Integer(),
  offset: Type.Integer(),
  has_more: Type.Boolean({ description: "whether a page follows this one" }),
});

export const ProjectOut = Type.Object({
  project_id: Type.String(),
  tenant_id: Type.String(),
  name: Type.String(),
});

export const PoolOut = Type.Object({
  pool_id: Type.String(),
  tenant_id: Type.String(),
  name: Type.String(),
  scene_tag: SceneTag,
});

export const UserOut = Type.Object({
  user_id: Type.String(),
  tenant_id: Type.String(),
  name: Type.String(),
  role: Role,
  project_ids: Type.Array(Type.String()),
  has_password: Type.Boolean(),
});

export const IssuedTokenOut = Type.Object({
  token: Type.String({ description: "shown once: only its SHA-256 is stored" }),
  token_id: Type.String(),
  user_id: Type.String(),
  issued_at: Time,
  expires_at: Time,
});

const integer = Type.Integer();
const text = Type.String();

/** An instance as stored, with assign_status derived from assign_user as the tenant API does. */
export const InstanceOut = Type.Object({
  instance_id: text,
  tenant_id: text,
  project_id: text,
  pool_id: text,
  scene_tag: SceneTag,
  instance_name: text,
  region: text,
  instance_sku: text,
  frozen_status: integer,
  running_status: integer,
  login_status: integer,
  assign_status: integer,
  assign_user: InstanceState.assign_user,
  billing_mode: text,
  phone_id: text,
  member_name: text,
  account_name: text,
  region_name: text,
  region_name_en: text,
  backup_status: integer,
  backup_time: text,
  restore_status: integer,
  restore_time: text,
  created_at: text,
  updated_at: text,
});

export const ImportResult = Type.Object({ created: Type.Integer() });
