/** GKE's Compute Engine persistent disk CSI driver: it provisions the member volumes and snapshots them. */
export const PD_CSI_DRIVER = "pd.csi.storage.gke.io";
