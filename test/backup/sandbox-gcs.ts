/**
 * The GCS stand-in (gcs-stand-in.ts) served inside a pod sandbox at the names the rendered steps
 * use (components/gcs-json-api.ts): GKE's metadata server on `http://metadata.google.internal` (port
 * 80) and GCS's JSON API on `https://storage.googleapis.com` (443) with a certificate from the
 * sandbox's CA, which the pods trust as their image's CA bundle (a sandbox created with
 * `trustSandboxCa: true`), as they trust Google's on GKE.
 *
 * The metadata server cannot tell pods apart here (connections reach it through the sandbox's
 * agent, not from the pod's address), so it speaks for one Google identity at a time, the one the
 * test names with `speakFor` (the uploader's while a backup runs, the members' while they restore);
 * each identity's token carries only that identity's role, whoever presents it.
 */
import * as http from "node:http";
import * as https from "node:https";
import type { PodSandbox } from "../pod-sandbox/pod-sandbox";
import { GcsStandIn, PRODUCTION_ENDPOINTS } from "./gcs-stand-in";

export async function serveGcs(sandbox: PodSandbox, bucketsRoot: string): Promise<{ gcs: GcsStandIn; close: () => void }> {
    if (sandbox.caBundle === undefined) throw new Error("serveGcs: the sandbox must trust its own CA (trustSandboxCa), as the pods trust Google's certificate");
    const gcs = new GcsStandIn(bucketsRoot);
    const metadataHost = new URL(PRODUCTION_ENDPOINTS.METADATA_URL);
    const storageHost = new URL(PRODUCTION_ENDPOINTS.STORAGE_URL);
    if (metadataHost.protocol !== "http:" || storageHost.protocol !== "https:") throw new Error("serveGcs: the steps' GCS endpoints changed scheme: adjust the stand-in's servers");
    const metadata = http.createServer(gcs.metadata);
    const { cert, key } = sandbox.issueServerCertificate([storageHost.hostname]);
    const storage = https.createServer({ cert, key }, gcs.storage);
    const servers = [metadata, storage];
    try {
        await sandbox.serveStandIn({ names: [metadataHost.hostname], port: 80, server: metadata });
        await sandbox.serveStandIn({ names: [storageHost.hostname], port: 443, server: storage });
    } catch (error) {
        for (const server of servers) server.close();
        gcs.close();
        throw error;
    }
    return {
        gcs,
        close: () => {
            for (const server of servers) {
                server.closeAllConnections();
                server.close();
            }
            gcs.close();
        },
    };
}
