/** What every admin route shares: its app type, dependencies and documentation. */
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifySchema,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from "fastify";
import type { SecretBox } from "../../../auth/secret-box.js";
import type { Config } from "../../../config.js";
import type { Store } from "../../../store/types.js";
import { ErrorBody } from "../../schemas.js";

export type AdminApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface AdminDeps {
  config: Config;
  store: Store;
  /** Seals access-key secrets (the same box the tenant guard opens them with). */
  secrets: SecretBox;
}

/** The errors every admin route may answer (401 comes from the operator key check). */
export const ERRORS = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody } as const;

/** Route options: the operation name (logged and in the OpenAPI document) and its schemas. */
export function admin<S extends FastifySchema>(operation: string, summary: string, schema: S) {
  return {
    config: { operation },
    schema: {
      operationId: operation,
      summary,
      tags: ["admin"],
      security: [{ AdminKey: [] }],
      ...schema,
    },
  };
}
