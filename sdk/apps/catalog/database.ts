import type { Application } from "../application";

export const DATABASE: readonly Application[] = [
  { name: "mysql", id: 102, category: "database", ndpi: ["MySQL"], suricata: [], zeek: ["mysql"] },
  {
    name: "postgresql",
    id: 103,
    category: "database",
    ndpi: ["PostgreSQL"],
    suricata: ["pgsql"],
    zeek: ["postgresql"],
    aliases: ["postgres"],
  },
  {
    name: "mssql",
    id: 104,
    category: "database",
    ndpi: ["MsSQL-TDS"],
    suricata: [],
    zeek: [],
    aliases: ["sql-server"],
  },
  { name: "redis", id: 105, category: "database", ndpi: ["Redis"], suricata: [], zeek: [] },
  { name: "mongodb", id: 106, category: "database", ndpi: ["MongoDB"], suricata: [], zeek: [] },
];
