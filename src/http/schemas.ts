/**
 * Wire schemas of the tenant API, used for response serialization and the OpenAPI document.
 * Types and schemas side by side; field lists follow the reference page.
 */
import { type Static, Type } from "typebox";

export const ErrorBody = Type.Object(
  {
    error_code: Type.String({ examples: ["KOOPHONE.API.1000"] }),
    error_msg: Type.String({ examples: ['page_size must be an integer >= 1, got "abc"'] }),
  },
  { $id: "ErrorBody", description: "Every error of the service has this shape." },
);
export type ErrorBody = Static<typeof ErrorBody>;

const int = (description: string) => Type.Integer({ description });
const str = (description: string) => Type.String({ description });

export const WireInstanceSchema = Type.Object({
  instance_id: str("Instance ID: 8 characters [A-Za-z0-9]."),
  instance_name: str("Instance name."),
  region: str("Region, e.g. cn-north-4."),
  instance_sku: str("Instance specification."),
  frozen_status: int("0 normal, 1 frozen."),
  running_status: int("0 unknown, 1 stopped, 2 running, 3 going offline, 4 starting, 5 shut down."),
  login_status: int("0 not logged in, 1 logged in."),
  assign_status: int("0 unassigned, 1 assigned."),
  assign_user: str('User the phone is assigned to; "" when unassigned.'),
  billing_mode: str("Billing mode."),
  project_id: str("Tenant project (32 lowercase hex)."),
  project_name: str("Tenant project name."),
  phone_id: str('Phone ID; the string "null" when there is none.'),
  member_name: str("User name."),
  account_name: str("Account name."),
  region_name: str("Region name."),
  region_name_en: str("English region name."),
  backup_status: int("0 preparing, 1 executing, 2 successful, 3 failed, 4 others."),
  backup_time: str('YYYY-MM-DD HH:MM:SS UTC; "" when never backed up.'),
  restore_status: int("0 preparing, 1 executing, 2 successful, 3 failed, 4 others."),
  restore_time: str('YYYY-MM-DD HH:MM:SS UTC; "" when never restored.'),
});

const pageFields = {
  page_no: Type.Integer({ description: "Page number." }),
  page_size: Type.Integer({ description: "Page size actually used (at most 100)." }),
  total_count: Type.Integer({
    description: "Instances matching the filters that the caller may see.",
  }),
};

export const BatchQueryResponse = Type.Object(
  {
    data: Type.Object({ result: Type.Array(WireInstanceSchema), ...pageFields }),
    ...pageFields,
    error_code: Type.String({ examples: ["0"] }),
    error_msg: Type.String({ examples: ["OK"] }),
  },
  {
    description:
      "Page fields appear both inside data (the page's table) and at the top (its example).",
  },
);

const optional = (description: string, extra: object = {}) =>
  Type.Optional(Type.String({ description, ...extra }));

/** Documentation of the query string; validation happens in src/instances/parse-query.ts. */
export const BatchQueryParameters = Type.Object({
  "x-request-id": optional(
    "Unique ID of the request (query parameter or header); generated when absent.",
    {
      pattern: "^[A-Za-z0-9._:-]{1,128}$",
    },
  ),
  page_no: Type.String({ description: "Page number, an integer >= 1.", pattern: "^[0-9]+$" }),
  page_size: Type.String({
    description: "Page size, an integer >= 1; above 100 it is clamped to 100.",
    pattern: "^[0-9]+$",
  }),
  instance_id: optional("Exact instance ID.", { minLength: 1, maxLength: 64 }),
  instance_name: optional("Case-insensitive substring of the instance name.", {
    minLength: 1,
    maxLength: 64,
  }),
  query_start_time: optional("Earliest creation time (UTC), inclusive: YYYY-MM-DD HH:MM:SS."),
  query_end_time: optional("Latest creation time (UTC), inclusive: YYYY-MM-DD HH:MM:SS."),
  pool_scene_tag: optional("Resource pool scenario tag.", { enum: ["CLOUD_APP", "CLOUD_PHONE"] }),
  poolSceneTag: optional("Alias of pool_scene_tag (the reference page's example spelling).", {
    enum: ["CLOUD_APP", "CLOUD_PHONE"],
  }),
  pool_name: optional("Exact resource pool name."),
  order: optional("Sort direction.", { enum: ["asc", "desc"], default: "asc" }),
  order_by: optional("Sort field; ties break on instance_id.", {
    enum: ["create_time", "instance_name", "instance_id"],
    default: "create_time",
  }),
});
