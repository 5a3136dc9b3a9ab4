/**
 * The one place zod learns `.openapi()`: every schema module imports `z` from here, so the request
 * validators and the OpenAPI document are built from the same objects.
 */
import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

extendZodWithOpenApi(z);

export { z };
