/** Input schemas of the operator operations (also the admin API's body schemas). */
import { Type } from "typebox";

/** 1–64 characters, no control characters. */
export const Name = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: "^[^\\u0000-\\u001f\\u007f]*$",
});
export const HexId = Type.String({
  pattern: "^[0-9a-f]{32}$",
  description: "32 lowercase hex characters",
});
export const RateLimit = Type.Integer({
  minimum: 1,
  maximum: 1_000_000,
  description: "requests per second",
});
export const SceneTag = Type.Union([Type.Literal("CLOUD_APP"), Type.Literal("CLOUD_PHONE")]);
export const Role = Type.Union([Type.Literal("admin"), Type.Literal("member")]);
export const Password = Type.String({ minLength: 8, maxLength: 256 });

const closed = { additionalProperties: false } as const;

export const NewTenant = Type.Object(
  {
    name: Name,
    tenant_id: Type.Optional(HexId),
    subscribed: Type.Optional(Type.Boolean()),
    rate_limit: Type.Optional(RateLimit),
  },
  closed,
);

export const TenantPatch = Type.Object(
  {
    name: Type.Optional(Name),
    subscribed: Type.Optional(Type.Boolean()),
    rate_limit: Type.Optional(Type.Union([RateLimit, Type.Null()])),
  },
  closed,
);

export const NewProject = Type.Object({ name: Name, project_id: Type.Optional(HexId) }, closed);

export const NewPool = Type.Object({ name: Name, scene_tag: SceneTag }, closed);

export const NewUser = Type.Object(
  {
    name: Name,
    role: Role,
    password: Type.Optional(Password),
    project_ids: Type.Optional(Type.Array(HexId, { maxItems: 1000 })),
  },
  closed,
);

export const UserPatch = Type.Object(
  {
    role: Type.Optional(Role),
    password: Type.Optional(Type.Union([Password, Type.Null()])),
    project_ids: Type.Optional(Type.Array(HexId, { maxItems: 1000 })),
  },
  closed,
);

export const NewToken = Type.Object(
  { ttl_seconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 31_536_000 })) },
  closed,
);

const WireTime = Type.String({ pattern: "^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}$" });
const status = (codes: readonly number[]) => Type.Union(codes.map((c) => Type.Literal(c)));

export const InstanceState = {
  instance_name: Name,
  running_status: status([0, 1, 2, 3, 4, 5]),
  frozen_status: status([0, 1]),
  login_status: status([0, 1]),
  assign_user: Type.String({ maxLength: 128 }),
  backup_status: status([0, 1, 2, 3, 4]),
  backup_time: Type.Union([WireTime, Type.Literal("")]),
  restore_status: status([0, 1, 2, 3, 4]),
  restore_time: Type.Union([WireTime, Type.Literal("")]),
  phone_id: Type.String({ minLength: 1, maxLength: 64 }),
  project_id: HexId,
};

export const InstancePatch = Type.Object(
  Object.fromEntries(Object.entries(InstanceState).map(([k, v]) => [k, Type.Optional(v)])) as {
    [K in keyof typeof InstanceState]: ReturnType<typeof Type.Optional<(typeof InstanceState)[K]>>;
  },
  { ...closed, minProperties: 1 },
);

/** One record of an instance import (JSON Lines, JSON array or CSV). */
export const ImportRecord = Type.Object(
  {
    instance_id: Type.Optional(Type.String({ pattern: "^[A-Za-z0-9]{8}$" })),
    instance_name: Name,
    region: Type.String({ minLength: 1, maxLength: 64 }),
    instance_sku: Type.String({ minLength: 1, maxLength: 256 }),
    project_id: Type.Optional(HexId),
    project_name: Type.Optional(Name),
    pool_name: Name,
    pool_scene_tag: Type.Optional(SceneTag),
    frozen_status: Type.Optional(InstanceState.frozen_status),
    running_status: Type.Optional(InstanceState.running_status),
    login_status: Type.Optional(InstanceState.login_status),
    assign_status: Type.Optional(status([0, 1])),
    assign_user: Type.Optional(InstanceState.assign_user),
    billing_mode: Type.Optional(Type.String({ maxLength: 32 })),
    phone_id: Type.Optional(InstanceState.phone_id),
    member_name: Type.Optional(Type.String({ maxLength: 128 })),
    account_name: Type.Optional(Type.String({ maxLength: 128 })),
    region_name: Type.Optional(Type.String({ maxLength: 128 })),
    region_name_en: Type.Optional(Type.String({ maxLength: 128 })),
    backup_status: Type.Optional(InstanceState.backup_status),
    backup_time: Type.Optional(InstanceState.backup_time),
    restore_status: Type.Optional(InstanceState.restore_status),
    restore_time: Type.Optional(InstanceState.restore_time),
    created_at: Type.Optional(WireTime),
  },
  closed,
);
