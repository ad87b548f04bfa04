import type { ColumnType, Generated } from 'kysely';

/** The Kysely Database interface: one entry per table, grown by each migration. */
export interface Database {
  tessera_meta: TesseraMetaTable;
}

export interface TesseraMetaTable {
  key: string;
  value: string;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export type { Generated };
