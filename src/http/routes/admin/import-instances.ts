/**
 * `POST /admin/v1/tenants/{tenant_id}/instances`: bulk import, streamed and all or nothing.
 *
 * The body is never buffered: the content-type parsers below hand the request stream through
 * untouched (so bodyLimit does not apply), and the records are read from it one by one by the
 * same readers and the same importInstances the CLI's `instances import` uses.
 */
import { PassThrough, type Readable } from "node:stream";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifySchemaCompiler } from "fastify";
import { type TSchema, Type } from "typebox";
import { badInput } from "../../../errors.js";
import { importInstances } from "../../../operator/import/import-instances.js";
import { type ImportFormat, recordsOf } from "../../../operator/import/sources.js";
import { ImportRecord } from "../../../operator/schemas.js";
import { ErrorBody } from "../../schemas.js";
import { type AdminApp, type AdminDeps, admin, ERRORS } from "./route.js";
import { ImportResult, TenantParams } from "./schemas.js";
import { operatorValidator } from "./validation.js";

/** Media type → reader. */
const FORMATS: Readonly<Record<string, ImportFormat>> = {
  "application/json": "json",
  "application/x-ndjson": "jsonl",
  "application/jsonl": "jsonl",
  "text/csv": "csv",
};

export async function importRoute(app: AdminApp, { store }: AdminDeps): Promise<void> {
  await app.register(async (plain) => {
    const scope = plain.withTypeProvider<TypeBoxTypeProvider>();
    for (const type of Object.keys(FORMATS)) {
      if (scope.hasContentTypeParser(type)) scope.removeContentTypeParser(type);
      scope.addContentTypeParser(type, (_request, payload, done) => done(null, payload));
    }
    scope.post(
      "/tenants/:tenant_id/instances",
      {
        ...admin(
          "adminImportInstances",
          "Import instances (JSON array, NDJSON or CSV), streamed; all or nothing",
          {
            params: TenantParams,
            consumes: Object.keys(FORMATS),
            body: Type.Array(ImportRecord, {
              description:
                "A JSON array of records, or one record per line (NDJSON), or CSV with a header row",
            }),
            response: { 201: ImportResult, ...ERRORS, 409: ErrorBody },
          },
        ),
        // The body schema above documents the records; they are checked one by one as they
        // stream in, by importInstances.
        validatorCompiler: streamedBody,
      },
      async (request, reply) => {
        const format = FORMATS[mediaType(request.headers["content-type"])];
        if (format === undefined) throw badInput("unsupported content type");
        const raw = request.body as unknown as Readable;
        const input = detached(raw);
        try {
          const result = await importInstances(
            store,
            request.params.tenant_id,
            recordsOf(input, format),
          );
          return reply.code(201).send(result);
        } finally {
          // On an early error the rest of the body is read and dropped, so the client finishes
          // sending and reads the 400 instead of meeting a reset connection.
          if (!raw.readableEnded) {
            raw.unpipe(input);
            raw.resume();
          }
        }
      },
    );
  });
}

const streamedBody: FastifySchemaCompiler<TSchema> = (route) =>
  route.httpPart === "body" ? (value: unknown) => ({ value }) : operatorValidator(route);

function mediaType(header: string | undefined): string {
  return (header ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

/**
 * The request body behind a stream of its own. The readers destroy their input when they stop
 * early, and destroying the request itself would reset the connection before the error reaches
 * the client. A client that goes away mid-body ends this stream with an error, which rolls the
 * import back (a plain pipe would leave the import waiting for data forever).
 */
function detached(raw: Readable): PassThrough {
  const input = new PassThrough();
  raw.pipe(input);
  const cut = () => {
    if (!raw.readableEnded) input.destroy(badInput("the request body ended before its end"));
  };
  raw.once("error", cut);
  raw.once("close", cut);
  return input;
}
