import type { Application } from "../application";

export const FILE_TRANSFER: readonly Application[] = [
  {
    name: "ftp",
    id: 5,
    category: "file-transfer",
    ndpi: ["FTP_CONTROL", "FTP_DATA"],
    suricata: ["ftp", "ftp-data"],
    zeek: ["ftp", "ftp-data"],
  },
  { name: "tftp", id: 55, category: "file-transfer", ndpi: ["TFTP"], suricata: ["tftp"], zeek: [] },
  {
    name: "smb",
    id: 56,
    category: "file-transfer",
    ndpi: ["SMBv1", "SMBv23"],
    suricata: ["smb", "smb2"],
    zeek: ["smb"],
    aliases: ["cifs"],
  },
  { name: "nfs", id: 57, category: "file-transfer", ndpi: ["NFS"], suricata: ["nfs"], zeek: ["nfs"] },
  { name: "rsync", id: 58, category: "file-transfer", ndpi: ["RSYNC"], suricata: [], zeek: [] },
];
