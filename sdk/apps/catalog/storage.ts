import type { Application } from "../application";

export const STORAGE: readonly Application[] = [
  {
    name: "dropbox",
    id: 9,
    category: "storage",
    ndpi: ["Dropbox"],
    suricata: [],
    zeek: [],
    domains: ["dropbox.com", "dropboxapi.com", "dropboxusercontent.com", "db.tt"],
  },
  {
    name: "google-drive",
    id: 42,
    category: "storage",
    ndpi: ["GoogleDrive"],
    suricata: [],
    zeek: [],
    aliases: ["gdrive"],
    domains: ["drive.google.com", "drive.usercontent.google.com", "googledrive.com"],
  },
  {
    name: "onedrive",
    id: 43,
    category: "storage",
    ndpi: ["MS_OneDrive"],
    suricata: [],
    zeek: [],
    domains: ["onedrive.com", "onedrive.live.com", "1drv.ms", "1drv.com"],
  },
  {
    name: "icloud",
    id: 44,
    category: "storage",
    ndpi: ["AppleiCloud"],
    suricata: [],
    zeek: [],
    domains: ["icloud.com", "icloud-content.com"],
  },
];
