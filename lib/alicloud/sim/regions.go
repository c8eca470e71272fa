package sim

// DefaultRegions returns the public Alibaba Cloud region ids the emulator knows by default: the
// regions of the OSS "Regions and endpoints" page and the ECS region list (2025), without the
// regions that have closed (ap-south-1 Mumbai, ap-southeast-2 Sydney). cn-nanjing and cn-fuzhou are
// Local Regions being decommissioned but still answer; cn-wuhan-lr is the Wuhan Local Region.
// 29 regions: a fan-out from one of them reaches 28 others.
func DefaultRegions() []string {
	return []string{
		// Chinese mainland
		"cn-qingdao", "cn-beijing", "cn-zhangjiakou", "cn-huhehaote", "cn-wulanchabu",
		"cn-hangzhou", "cn-shanghai", "cn-nanjing", "cn-fuzhou", "cn-wuhan-lr",
		"cn-shenzhen", "cn-heyuan", "cn-guangzhou", "cn-chengdu",
		// Hong Kong and Asia Pacific
		"cn-hongkong", "ap-northeast-1", "ap-northeast-2", "ap-southeast-1", "ap-southeast-3",
		"ap-southeast-5", "ap-southeast-6", "ap-southeast-7",
		// Europe and Americas
		"us-east-1", "us-west-1", "na-south-1", "eu-west-1", "eu-central-1",
		// Middle East
		"me-east-1", "me-central-1",
	}
}

// regionNames are DescribeRegions' LocalName values: zh-CN (the API's default AcceptLanguage)
// and en-US, as the ECS console and region list name them.
var regionNames = map[string][2]string{
	"cn-qingdao":     {"华北1（青岛）", "China (Qingdao)"},
	"cn-beijing":     {"华北2（北京）", "China (Beijing)"},
	"cn-zhangjiakou": {"华北3（张家口）", "China (Zhangjiakou)"},
	"cn-huhehaote":   {"华北5（呼和浩特）", "China (Hohhot)"},
	"cn-wulanchabu":  {"华北6（乌兰察布）", "China (Ulanqab)"},
	"cn-hangzhou":    {"华东1（杭州）", "China (Hangzhou)"},
	"cn-shanghai":    {"华东2（上海）", "China (Shanghai)"},
	"cn-nanjing":     {"华东5（南京-本地地域）", "China (Nanjing - Local Region)"},
	"cn-fuzhou":      {"华东6（福州-本地地域）", "China (Fuzhou - Local Region)"},
	"cn-wuhan-lr":    {"华中1（武汉-本地地域）", "China (Wuhan - Local Region)"},
	"cn-shenzhen":    {"华南1（深圳）", "China (Shenzhen)"},
	"cn-heyuan":      {"华南2（河源）", "China (Heyuan)"},
	"cn-guangzhou":   {"华南3（广州）", "China (Guangzhou)"},
	"cn-chengdu":     {"西南1（成都）", "China (Chengdu)"},
	"cn-hongkong":    {"中国香港", "China (Hong Kong)"},
	"ap-northeast-1": {"日本（东京）", "Japan (Tokyo)"},
	"ap-northeast-2": {"韩国（首尔）", "South Korea (Seoul)"},
	"ap-southeast-1": {"新加坡", "Singapore"},
	"ap-southeast-3": {"马来西亚（吉隆坡）", "Malaysia (Kuala Lumpur)"},
	"ap-southeast-5": {"印度尼西亚（雅加达）", "Indonesia (Jakarta)"},
	"ap-southeast-6": {"菲律宾（马尼拉）", "Philippines (Manila)"},
	"ap-southeast-7": {"泰国（曼谷）", "Thailand (Bangkok)"},
	"us-east-1":      {"美国（弗吉尼亚）", "US (Virginia)"},
	"us-west-1":      {"美国（硅谷）", "US (Silicon Valley)"},
	"na-south-1":     {"墨西哥", "Mexico"},
	"eu-west-1":      {"英国（伦敦）", "UK (London)"},
	"eu-central-1":   {"德国（法兰克福）", "Germany (Frankfurt)"},
	"me-east-1":      {"阿联酋（迪拜）", "UAE (Dubai)"},
	"me-central-1":   {"沙特（利雅得）", "SAU (Riyadh - Partner Region)"},
}

// regionEndpoint is the ECS endpoint DescribeRegions reports: regional, except Hangzhou's
// historical ecs-cn-hangzhou host.
func regionEndpoint(region string) string {
	if region == "cn-hangzhou" {
		return "ecs-cn-hangzhou.aliyuncs.com"
	}
	return "ecs." + region + ".aliyuncs.com"
}
