import { handleApiRoute } from '@/lib/api/http';

// POST|GET|PUT /api/[v<major>.<minor>/]<service>.<action>: the ClearML-style API.
export const dynamic = 'force-dynamic';

export const GET = handleApiRoute;
export const POST = handleApiRoute;
export const PUT = handleApiRoute;
