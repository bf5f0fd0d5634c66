/**
 * Built-in region catalog: region code → display names, used when an import record gives a region
 * but not its names. Chinese names are what the real console shows in region_name.
 */
export interface RegionNames {
  region_name: string;
  region_name_en: string;
}

export const REGIONS: Readonly<Record<string, RegionNames>> = {
  "cn-north-4": { region_name: "华北-北京四", region_name_en: "CN North-Beijing4" },
  "cn-north-9": { region_name: "华北-乌兰察布一", region_name_en: "CN North-Ulanqab1" },
  "cn-east-3": { region_name: "华东-上海一", region_name_en: "CN East-Shanghai1" },
  "cn-south-1": { region_name: "华南-广州", region_name_en: "CN South-Guangzhou" },
  "cn-southwest-2": { region_name: "西南-贵阳一", region_name_en: "CN Southwest-Guiyang1" },
  "ap-southeast-1": { region_name: "中国-香港", region_name_en: "CN-Hong Kong" },
  "ap-southeast-3": { region_name: "亚太-新加坡", region_name_en: "AP-Singapore" },
};

/** Names for a region; an unknown region is named by its code. */
export function regionNames(region: string): RegionNames {
  return REGIONS[region] ?? { region_name: region, region_name_en: region };
}
