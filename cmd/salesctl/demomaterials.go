package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/material"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/server"
	"github.com/salesapp/scrm/backend/share"
	"github.com/salesapp/scrm/media"
)

// demoMaterials are the demo enterprise's library: what its salespeople share and its customers open.
var demoMaterials = []struct {
	kind    material.Kind
	content material.Content
}{
	{material.KindArticle, material.Content{Title: "三口之家如何配置保险？", Summary: "一张表看懂家庭保障的先后顺序",
		Tags: []string{"家庭保障"}, BodyHTML: `<h2>先保大人，再保孩子</h2>
<p>家庭的经济支柱一旦出现意外或重疾，全家的收入就会中断。所以保障的第一顺位，是父母自己。</p>
<h2>先保障，再理财</h2>
<p>重疾险、医疗险、意外险和定期寿险，是家庭保障的四件基础工具。它们解决的是“万一”的问题；教育金和养老金，解决的是“一定”的问题。</p>
<ul><li>重疾险：保额建议为年收入的 3 到 5 倍</li><li>医疗险：百万医疗加上一份小额医疗</li><li>定期寿险：保额覆盖房贷和子女教育</li></ul>
<p>想知道您家的保障缺口有多大？留下电话，我帮您免费做一份家庭保障检视。</p>`}},
	{material.KindArticle, material.Content{Title: "养老规划的五个步骤", Summary: "从 35 岁开始，也不算晚",
		Tags: []string{"养老"}, BodyHTML: `<h2>1. 算清楚需要多少钱</h2><p>以目前的生活开支为基准，按每年 3% 的通胀估算退休时的年开支。</p>
<h2>2. 盘点已有的养老资源</h2><p>社保养老金、企业年金、个人储蓄，各能覆盖多少？</p>
<h2>3. 找出缺口</h2><p>缺口就是需要自己准备的部分。</p>
<h2>4. 选择工具</h2><p>年金险提供确定的现金流，适合打底；基金和其他投资适合追求增值。</p>
<h2>5. 每年检视一次</h2><p>收入、家庭和政策都会变，计划也要跟着调整。</p>`}},
	{material.KindMoments, material.Content{Title: "早安文案", Tags: []string{"朋友圈"},
		TextBody: "早安！新的一天，先照顾好自己，才能照顾好家人。有任何保障问题，随时找我聊聊 ☀️"}},
}

// cmdDemoMaterials publishes the demo enterprise's library once salesd's object storage answers (make run
// starts it in the background beside salesd, whose embedded store the materials' links are signed for),
// and prints a share link to open in a browser. A library that has materials already is left alone.
func cmdDemoMaterials(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := newFlags("demo-materials", stdout)
	wait := fs.Duration("wait", time.Minute, "how long to wait for salesd's object storage")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := platform.LoadConfig(getenv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	store, err := waitForStore(ctx, cfg, *wait)
	if err != nil {
		return err
	}
	db, tenants, _, err := appServices(ctx, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	d := demo{tenantID: uuid.MustParse(demoTenantID)}
	if _, err := createDemo(ctx, getenv, db, tenants, &d); err != nil {
		return err
	}
	materials, err := server.Materials(cfg, slog.New(slog.DiscardHandler), db, store)
	if err != nil {
		return err
	}
	admin := authn.Principal{TenantID: d.tenantID, EmployeeID: d.adminID, Role: authn.RoleAdmin}
	have, _, err := materials.List(ctx, admin, material.Filter{Tier: material.TierEnterprise, PageSize: 1})
	if err != nil {
		return err
	}
	if len(have) > 0 {
		fmt.Fprintln(stdout, "demo materials: the library has materials already")
		return nil
	}
	var first material.View
	for i, m := range demoMaterials {
		v, err := materials.Create(ctx, admin, material.TierEnterprise, m.kind, m.content)
		if err != nil {
			return fmt.Errorf("demo material %q: %w", m.content.Title, err)
		}
		if _, err := materials.Submit(ctx, admin, v.ID); err != nil {
			return err
		}
		if v, err = materials.Review(ctx, admin, v.ID, true, ""); err != nil {
			return err
		}
		if i == 0 {
			first = v
		}
	}
	posterID, n, err := demoPlatformMaterials(ctx, cfg, materials)
	if err != nil {
		return err
	}
	sales := authn.Principal{TenantID: d.tenantID, EmployeeID: d.salesID, Role: authn.RoleSales}
	shares := share.NewService(db, cfg.PublicBaseURL)
	fmt.Fprintf(stdout, "demo materials: %d published in the enterprise library and %d in the platform's; as the salesperson shared them, a customer sees:\n",
		len(demoMaterials), n)
	sh, err := shares.ShareMaterial(ctx, sales, first.ID, event.ChannelChat)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "  %s\n", shares.URL(sh.Token))
	if posterID != uuid.Nil {
		// The poster as the salesperson shares it: rendered with their QR code and name.
		pp, err := materials.PersonalizedPoster(ctx, sales, posterID, event.ChannelChat)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "  %s\n", pp.ShareURL)
	}
	return nil
}

// demoPlatformMaterials publishes the operator's sample poster, brochure and video, which every tenant's
// salespeople see, unless the platform library has materials already. It answers the poster's id (nil when
// nothing was published) and how many it published.
func demoPlatformMaterials(ctx context.Context, cfg platform.Config, materials *material.Service) (uuid.UUID, int, error) {
	if cfg.MigrateDatabaseURL == "" {
		return uuid.Nil, 0, errors.New("set SALESD_MIGRATE_DATABASE_URL (the table owner's URL): platform materials are the operator's")
	}
	owner, err := pgxpool.New(ctx, cfg.MigrateDatabaseURL)
	if err != nil {
		return uuid.Nil, 0, err
	}
	defer owner.Close()
	var have bool
	if err := owner.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM materials WHERE tier = 'platform')").Scan(&have); err != nil {
		return uuid.Nil, 0, err
	}
	if have {
		return uuid.Nil, 0, nil
	}
	img, err := demoPoster()
	if err != nil {
		return uuid.Nil, 0, err
	}
	pdf, err := demoBrochure(img)
	if err != nil {
		return uuid.Nil, 0, err
	}
	layout := demoPosterLayout
	items := []struct {
		kind    material.Kind
		content material.Content
		file    material.PlatformFile
	}{
		{material.KindPoster, material.Content{Title: "守护家人，从规划开始", Summary: "长按保存，扫码找我做保障检视",
			Tags: []string{"家庭保障"}, Layout: &layout}, material.PlatformFile{Data: img, ContentType: "image/png"}},
		{material.KindBrochure, material.Content{Title: "家庭保障手册", Summary: "三页看懂保什么、保多少",
			Tags: []string{"家庭保障"}}, material.PlatformFile{Data: pdf, ContentType: "application/pdf"}},
		{material.KindVideo, material.Content{Title: "一分钟了解重疾险", Summary: "演示视频",
			Tags: []string{"重疾险"}}, material.PlatformFile{Data: demoVideo, ContentType: "video/mp4"}},
	}
	var posterID uuid.UUID
	for _, it := range items {
		id, err := materials.CreatePlatform(ctx, owner, it.kind, it.content, &it.file, nil)
		if err != nil {
			return uuid.Nil, 0, fmt.Errorf("demo material %q: %w", it.content.Title, err)
		}
		if it.kind == material.KindPoster {
			posterID = id
		}
	}
	return posterID, len(items), nil
}

// waitForStore connects to the object storage salesd serves (or the configured one), retrying until it
// answers or wait has passed.
func waitForStore(ctx context.Context, cfg platform.Config, wait time.Duration) (*media.Store, error) {
	deadline := time.Now().Add(wait)
	for {
		store, err := storeFor(ctx, cfg)
		if err == nil {
			return store, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%w (waited %s)", err, wait)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
